"""Which validate features a suite's policies use.

Conformance is reported per feature set (pattern-only policies, classic
ClusterPolicies, CEL ValidatingPolicies), so that a weakness in one part of
the engine is not hidden by the size of another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.kyvernotest import suites
from bot.policy import documents

ADVANCED = ("deny", "foreach", "preconditions", "context", "podSecurity", "cel")
"""Features beyond match/exclude and pattern/anyPattern."""


def features_of(suite: suites.Suite) -> set[str]:
    """Advanced features, "variables", and the kinds of non-Kyverno policies used."""
    found: set[str] = set()
    for document in documents.load_documents(suite.policy_paths):
        content = document.content
        if not isinstance(content, Mapping):
            continue
        if content.get("kind") not in ("ClusterPolicy", "Policy"):
            found.add(str(content.get("kind")))
            continue
        spec = content.get("spec")
        rules = spec.get("rules") if isinstance(spec, Mapping) else None
        for rule in rules if isinstance(rules, list) else []:
            found.update(_features_in(rule))
    return found


def is_pattern_only(features: set[str]) -> bool:
    return not features & set(ADVANCED) and not any(f[:1].isupper() for f in features)


def _features_in(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key in ADVANCED:
                yield str(key)
            yield from _features_in(inner)
    elif isinstance(value, list):
        for item in value:
            yield from _features_in(item)
    elif isinstance(value, str) and "{{" in value:
        yield "variables"
