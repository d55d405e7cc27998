"""Policybot: explains Kubernetes admission rejections and derives the exact fix."""

__version__ = "0.1.0"
