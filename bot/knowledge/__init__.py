"""The knowledge base: why each policy rule exists and how to comply with it.

`entries` defines what one explanation must say; `catalog` loads explanation
files (the bundled ones by default) and finds the entry for a rejected rule.
This package reads data and nothing else: rendering for people is the job of
the CLI and Slack layers.
"""

from bot.knowledge.catalog import (
    Catalog,
    KnowledgeError,
    bundled_explanation_paths,
    bundled_policy_paths,
    load_catalog,
)
from bot.knowledge.entries import ExceptionGuidance, Explanation, Fix, Reference

__all__ = [
    "Catalog",
    "ExceptionGuidance",
    "Explanation",
    "Fix",
    "KnowledgeError",
    "Reference",
    "bundled_explanation_paths",
    "bundled_policy_paths",
    "load_catalog",
]
