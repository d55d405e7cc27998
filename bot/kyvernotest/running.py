"""Running one suite: evaluate every policy on every resource, then compare.

We evaluate the cross product once and then look each expectation up, the
way the Kyverno CLI does: by policy name, by resource kind and name (or
namespace/name), and by rule name, where `<rule>`, `autogen-<rule>` and
`autogen-cronjob-<rule>` all name the rule Kyverno generated from `<rule>`.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import PolicybotError
from bot.kyvernotest import suites, valuesfiles
from bot.policy import cel, celpolicies, documents, engine, policies, resources, scopes
from bot.policy.requests import AdmissionRequest, UserInfo
from bot.policy.results import RuleResult

logger = logging.getLogger(__name__)

NOT_FOUND = "not-found"
"""The expectation names a resource the suite does not contain."""

EXCLUDED = "excluded"
"""The rule gave no result for the resource: it did not select it.

NB: the Kyverno CLI reports such a resource as a pass ("Excluded") whatever
the suite expected (cmd/cli/kubectl-kyverno/commands/test/output.go), and the
policy library relies on it. We count it as matched the same way unless
asked to be strict, and keep it visible as its own actual value.
"""


@dataclass(frozen=True)
class ExpectationResult:
    suite: Path
    expectation: suites.Expectation
    actual: str
    message: str = ""
    strict: bool = False
    """Count an excluded resource as a miss instead of a pass, unlike the Kyverno CLI."""

    @property
    def matched(self) -> bool:
        if self.actual == EXCLUDED:
            return not self.strict
        return self.actual == self.expectation.expected


@dataclass(frozen=True)
class SuiteReport:
    path: Path
    results: tuple[ExpectationResult, ...]
    error: str = ""
    """Why the suite could not run at all; its expectations then count as missed."""
    policy_kinds: tuple[str, ...] = ()


def run_suite(path: Path, *, strict: bool = False) -> SuiteReport:
    try:
        suite = suites.load_suite(path)
    except PolicybotError as error:
        return SuiteReport(path=path, results=(), error=str(error))
    try:
        return _run_loaded(suite, strict=strict)
    except PolicybotError as error:
        results = tuple(
            ExpectationResult(path, expectation, "error", str(error))
            for expectation in suite.expectations
        )
        return SuiteReport(path=path, results=results, error=str(error))


@dataclass(frozen=True)
class PreparedSuite:
    """Everything a suite names, loaded, with the CLI's per-resource inputs."""

    suite: suites.Suite
    kyverno: tuple[policies.Policy, ...]
    cel_policies: tuple[celpolicies.CelPolicy, ...]
    other_kinds: Mapping[str, str]
    """Policies of kinds we do not evaluate, by name."""
    objects: tuple[dict[str, Any], ...]
    values: valuesfiles.Values | None
    user: UserInfo | None
    lookups: cel.Lookups | None

    def request_for(
        self, policy: policies.Policy | celpolicies.CelPolicy, obj: Mapping[str, Any]
    ) -> AdmissionRequest:
        return _request_for(policy, obj, self.values, self.user)

    def inputs_for(self, policy: policies.Policy, obj: Mapping[str, Any]) -> engine.Inputs:
        inputs = _inputs_for(policy, obj, self.values)
        if self.lookups is None:
            return inputs
        return dataclasses.replace(inputs, cel_lookups=self.lookups)

    def evaluate(self) -> list[RuleResult]:
        produced: list[RuleResult] = []
        for policy in self.kyverno:
            for obj in self.objects:
                request = self.request_for(policy, obj)
                produced.extend(engine.evaluate(policy, request, self.inputs_for(policy, obj)))
        for cel_policy in self.cel_policies:
            for obj in self.objects:
                request = self.request_for(cel_policy, obj)
                produced.extend(celpolicies.evaluate(cel_policy, request, lookups=self.lookups))
        return produced


def prepare(suite: suites.Suite) -> PreparedSuite:
    all_docs = list(documents.load_documents(suite.policy_paths))
    values = valuesfiles.load_values(suite.values_path) if suite.values_path else None
    return PreparedSuite(
        suite=suite,
        kyverno=tuple(
            policies.from_document(d) for d in all_docs if policies.is_kyverno_policy(d.content)
        ),
        cel_policies=tuple(celpolicies.from_documents(all_docs)),
        other_kinds={
            str(_metadata(d.content).get("name", "")): str(d.content.get("kind", ""))
            for d in all_docs
            if isinstance(d.content, Mapping)
            and not policies.is_kyverno_policy(d.content)
            and not celpolicies.is_cel_policy(d.content)
            and d.content.get("kind") != celpolicies.VAP_BINDING_KIND
        },
        objects=tuple(
            as_cli_loads(d.content)
            for d in documents.load_documents(suite.resource_paths)
            if isinstance(d.content, Mapping) and d.content.get("kind")
        ),
        values=values,
        user=valuesfiles.load_user_info(suite.userinfo_path) if suite.userinfo_path else None,
        lookups=_lookups_for(suite, values),
    )


def _run_loaded(suite: suites.Suite, *, strict: bool) -> SuiteReport:
    prepared = prepare(suite)
    produced = prepared.evaluate()
    present = {resources.ref_of(obj) for obj in prepared.objects}
    results = tuple(
        _compare(suite.path, expectation, produced, present, prepared.other_kinds, strict=strict)
        for expectation in suite.expectations
    )
    kinds = {p.kind for p in prepared.kyverno} | {p.kind for p in prepared.cel_policies}
    kinds |= set(prepared.other_kinds.values())
    return SuiteReport(path=suite.path, results=results, policy_kinds=tuple(sorted(kinds)))


NIL_AS_EMPTY_MAP = frozenset(
    {"annotations", "labels", "matchLabels", "nodeSelector", "data", "stringData"}
)


def as_cli_loads(content: Mapping[str, Any]) -> dict[str, Any]:
    """The resource as the Kyverno CLI reads it from a file.

    The CLI puts namespaced objects without a namespace into `default`, and
    turns known map fields left empty in YAML (`labels:`) into empty maps.
    """
    obj: dict[str, Any] = copy.deepcopy(dict(content))
    _nil_maps_emptied(obj)
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = obj["metadata"] = {}
    if not metadata.get("namespace") and not scopes.is_cluster_scoped(
        str(obj.get("apiVersion", "")), str(obj.get("kind", ""))
    ):
        metadata["namespace"] = "default"
    return obj


def _nil_maps_emptied(value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if inner is None and key in NIL_AS_EMPTY_MAP:
                value[key] = {}
            else:
                _nil_maps_emptied(inner)
    elif isinstance(value, list):
        for item in value:
            _nil_maps_emptied(item)


def _lookups_for(suite: suites.Suite, values: valuesfiles.Values | None) -> cel.Lookups | None:
    """Cluster data for CEL policies: the suite's context file and namespaces."""
    found: cel.Lookups | None = None
    if suite.context_path is not None:
        docs = documents.parse_documents(
            documents.read_text(suite.context_path), source=str(suite.context_path)
        )
        if docs and isinstance(docs[0].content, Mapping):
            found = cel.from_context_document(docs[0].content)
    if values is not None and values.namespaces:
        found = (found or cel.Lookups()).with_namespaces(values.namespaces)
    return found


def _request_for(
    policy: policies.Policy | celpolicies.CelPolicy,
    obj: Mapping[str, Any],
    values: valuesfiles.Values | None,
    user: UserInfo | None,
) -> AdmissionRequest:
    name = resources.name_of(obj)
    namespace = resources.namespace_of(obj)
    operation = values.operation_for(policy.name, name) if values else "CREATE"
    labels: Mapping[str, str] = {}
    if values is not None:
        labels = values.namespace_labels.get(namespace, {})
    # NB: the CLI simulates an UPDATE by using the resource as its own old copy.
    old = copy.deepcopy(dict(obj)) if operation in ("UPDATE", "DELETE") else None
    return AdmissionRequest(
        object=dict(obj),
        operation=operation,
        old_object=old,
        namespace_labels=labels,
        user_info=user,
    )


def _inputs_for(
    policy: policies.Policy, obj: Mapping[str, Any], values: valuesfiles.Values | None
) -> engine.Inputs:
    if values is None:
        return engine.NO_INPUTS
    return engine.Inputs(
        resource_values=values.for_resource(policy.name, resources.name_of(obj)),
        rule_values=values.rules_of(policy.name),
    )


def _compare(
    suite_path: Path,
    expectation: suites.Expectation,
    produced: Sequence[RuleResult],
    present: set[resources.ResourceRef],
    other_kinds: Mapping[str, str],
    *,
    strict: bool,
) -> ExpectationResult:
    rule_names = {
        expectation.rule,
        f"autogen-{expectation.rule}",
        f"autogen-cronjob-{expectation.rule}",
    }
    for result in produced:
        if result.policy != expectation.policy:
            continue
        if not _names_resource(expectation, result.resource):
            continue
        if expectation.rule and not expectation.rule_less and result.rule not in rule_names:
            continue
        return ExpectationResult(
            suite_path, expectation, result.status, result.message, strict=strict
        )
    if expectation.policy in other_kinds:
        kind = other_kinds[expectation.policy]
        return ExpectationResult(
            suite_path, expectation, "error", f"policies of kind {kind} are not evaluated yet"
        )
    if not any(_names_resource(expectation, ref) for ref in present):
        return ExpectationResult(
            suite_path, expectation, NOT_FOUND, "the suite has no such resource"
        )
    return ExpectationResult(
        suite_path, expectation, EXCLUDED, "the rule did not select the resource", strict=strict
    )


def _names_resource(expectation: suites.Expectation, ref: resources.ResourceRef) -> bool:
    if expectation.kind and expectation.kind != ref.kind:
        return False
    if expectation.resource_name != ref.name:
        return False
    namespace = expectation.resource_namespace
    return namespace is None or namespace == ref.namespace


def _metadata(content: Mapping[str, Any]) -> Mapping[str, Any]:
    metadata = content.get("metadata")
    return metadata if isinstance(metadata, Mapping) else {}
