"""Small pod builders for the PSS tests, so each case shows only what it varies."""

from __future__ import annotations

from typing import Any

from bot.policy.pss import CheckResult, evaluate_pod


def container(name: str = "app", image: str = "nginx:1.27", **security: Any) -> dict[str, Any]:
    """A container with exactly the securityContext fields given (none by default)."""
    body: dict[str, Any] = {"name": name, "image": image}
    if security:
        body["securityContext"] = dict(security)
    return body


def hardened(name: str = "app", image: str = "nginx:1.27", **overrides: Any) -> dict[str, Any]:
    """A container that passes every restricted check, with some fields overridden."""
    security: dict[str, Any] = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    security.update(overrides)
    return {"name": name, "image": image, "securityContext": security}


def spec(
    *containers: dict[str, Any], init: tuple[dict[str, Any], ...] = (), **fields: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"containers": list(containers or [hardened()])}
    if init:
        body["initContainers"] = list(init)
    body.update(fields)
    return body


def pod(pod_spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "demo", **metadata},
        "spec": pod_spec,
    }


def results(
    pod_spec: dict[str, Any],
    *,
    level: str = "restricted",
    version: str = "latest",
    metadata: dict[str, Any] | None = None,
) -> dict[str, CheckResult]:
    """Every check PSA runs for the pod, by check ID."""
    found = evaluate_pod(metadata or {}, pod_spec, level=level, version=version)
    return {result.check_id: result for result in found}


def failures(pod_spec: dict[str, Any], **kwargs: Any) -> dict[str, CheckResult]:
    return {key: r for key, r in results(pod_spec, **kwargs).items() if not r.allowed}
