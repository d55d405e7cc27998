"""Policies written wholly in CEL: Kyverno ValidatingPolicy and Kubernetes VAP.

These have no rules: one policy holds a list of CEL validations and gives
one verdict per resource. We report that verdict as a result whose rule is
empty, beside the results of classic Kyverno policies, so every caller
(check, test, fix, the bot) treats both alike.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import InputError
from bot.policy import documents
from bot.policy.requests import AdmissionRequest
from bot.policy.results import Action, RuleResult

if TYPE_CHECKING:
    from bot.policy import cel

# NB: the CEL runtime is imported only when a CEL policy is evaluated: loading
# it costs more than checking a file against pattern policies.

VPOL_KINDS = frozenset({"ValidatingPolicy", "NamespacedValidatingPolicy"})
VPOL_GROUP = "policies.kyverno.io/"
VAP_KIND = "ValidatingAdmissionPolicy"
VAP_BINDING_KIND = "ValidatingAdmissionPolicyBinding"
VAP_GROUP = "admissionregistration.k8s.io/"


@dataclass(frozen=True)
class CelPolicy:
    kind: str
    name: str
    raw: Mapping[str, Any]
    source: str = ""
    document: int = 1
    bindings: tuple[Mapping[str, Any], ...] = ()
    """For a VAP: the bindings naming it (none: the policy applies alone)."""

    @property
    def annotations(self) -> Mapping[str, str]:
        metadata = self.raw.get("metadata")
        found = metadata.get("annotations") if isinstance(metadata, Mapping) else None
        return found if isinstance(found, Mapping) else {}


@dataclass(frozen=True)
class CelPolicySet:
    policies: tuple[CelPolicy, ...] = ()
    lookups: cel.Lookups | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


def is_cel_policy(content: Any) -> bool:
    if not isinstance(content, Mapping):
        return False
    api_version = str(content.get("apiVersion", ""))
    kind = content.get("kind")
    return (kind in VPOL_KINDS and api_version.startswith(VPOL_GROUP)) or (
        kind == VAP_KIND and api_version.startswith(VAP_GROUP)
    )


def from_documents(docs: Iterable[documents.Document]) -> list[CelPolicy]:
    """ValidatingPolicies and VAPs (with their bindings) among the documents."""
    found: list[documents.Document] = []
    bindings: list[Mapping[str, Any]] = []
    for document in docs:
        content = document.content
        if is_cel_policy(content):
            found.append(document)
        elif isinstance(content, Mapping) and content.get("kind") == VAP_BINDING_KIND:
            bindings.append(content)
    policies: list[CelPolicy] = []
    for document in found:
        content = document.content
        name = _name(content, document)
        own = tuple(
            b
            for b in bindings
            if isinstance(b.get("spec"), Mapping) and b["spec"].get("policyName") == name
        )
        policies.append(
            CelPolicy(
                kind=str(content["kind"]),
                name=name,
                raw=content,
                source=document.source,
                document=document.index,
                bindings=own if content["kind"] == VAP_KIND else (),
            )
        )
    return policies


def load(paths: Iterable[str | Path]) -> list[CelPolicy]:
    return from_documents(documents.load_documents(paths))


def evaluate(
    policy: CelPolicy,
    request: AdmissionRequest,
    *,
    lookups: cel.Lookups | None = None,
    params: Any = None,
) -> list[RuleResult]:
    from bot.policy import cel

    outcomes: list[cel.CelOutcome] = []
    if policy.kind == VAP_KIND:
        for binding in policy.bindings or (None,):
            found = cel.evaluate_vap(policy.raw, binding, request, params=params, context=lookups)
            if found is not None:
                outcomes.append(found)
    else:
        found = cel.evaluate_validating_policy(policy.raw, request, context=lookups)
        if found is not None:
            outcomes.append(found)
    return [_result(policy, request, outcome) for outcome in outcomes]


def evaluate_all(
    policies: Sequence[CelPolicy],
    request: AdmissionRequest,
    *,
    lookups: cel.Lookups | None = None,
) -> list[RuleResult]:
    return [r for policy in policies for r in evaluate(policy, request, lookups=lookups)]


def _result(policy: CelPolicy, request: AdmissionRequest, outcome: cel.CelOutcome) -> RuleResult:
    action: Action = "enforce" if "Deny" in outcome.actions else "audit"
    return RuleResult(
        policy=policy.name,
        rule="",
        base_rule="",
        resource=request.ref,
        status=outcome.status,
        message=outcome.message,
        action=action,
    )


def _name(content: Mapping[str, Any], document: documents.Document) -> str:
    metadata = content.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    if not isinstance(name, str) or not name:
        raise InputError(
            "must be a non-empty string",
            source=document.source,
            document=document.index,
            field="metadata.name",
        )
    return name
