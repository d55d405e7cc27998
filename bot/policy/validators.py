"""Running one rule's `validate` block and phrasing the outcome as Kyverno does.

This mirrors the order of Kyverno's validation handler: load the rule's
context, check its preconditions, then run exactly one of deny, pattern /
anyPattern or foreach (each foreach element goes through the same steps
again). Kyverno's webhook messages are what teams paste into chat, so we keep
them word for word (`validation error: <message> rule <name> failed at path
<path>`): the same text then means the same thing whether it came from the
cluster or from `policybot check`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.policy import conditions, patterns
from bot.policy.contexts import ContextError, ContextResolver, EvaluationContext
from bot.policy.policies import Rule
from bot.policy.requests import AdmissionRequest
from bot.policy.results import Status
from bot.policy.variables import SubstitutionError

# NB: JMESPath and the Pod Security checks are imported where they are used:
# loading them takes longer than checking a file against pattern-only
# policies, which need neither.


def _lookup_errors() -> tuple[type[Exception], ...]:
    """What a failed variable lookup raises, for `except` clauses.

    Python evaluates such a clause only once something was raised; a lookup
    that raised has loaded JMESPath already, so importing it here costs nothing.
    """
    from bot.policy.jmespath import JMESPathError

    return (SubstitutionError, ContextError, JMESPathError)


@dataclass(frozen=True)
class RuleOutcome:
    status: Status
    message: str
    path: str = ""


@dataclass(frozen=True)
class RuleInputs:
    """What the caller knows beyond the request: test values, cluster access."""

    values: Mapping[str, Any] = field(default_factory=dict)
    """Variables set before the rule's context entries, by dotted name."""
    resolver: ContextResolver | None = None
    cel_lookups: Any = None
    """Cluster objects CEL expressions may look up (a `bot.policy.cel.Lookups`)."""
    cel_params: Any = None
    """The parameter object for `validate.cel` rules that name a paramRef."""


def validate_rule(
    rule: Rule, request: AdmissionRequest, inputs: RuleInputs | None = None
) -> RuleOutcome | None:
    """The outcome of the rule's validation, or None where Kyverno reports nothing."""
    inputs = inputs or RuleInputs()
    validate = rule.validate or {}
    if not any(key in validate for key in VALIDATION_KINDS):
        kind = next((key for key in ("manifests",) if key in validate), "unknown")
        return RuleOutcome(
            "error", f"rule {rule.name} uses validate.{kind}, which this engine does not evaluate"
        )
    context = EvaluationContext.for_request(request)
    for key, value in inputs.values.items():
        context.set_variable(key, value)
    block = {**validate, "context": rule.raw.get("context"), "preconditions": _preconditions(rule)}
    # Values named `entry.data.key` stand in for the whole context entry `entry`.
    preset = frozenset(key.split(".", 1)[0] for key in inputs.values)
    return _Validator(rule, request, inputs, preset).run(
        block, context, element=None, nesting=0, path=("validate",)
    )


VALIDATION_KINDS = ("deny", "pattern", "anyPattern", "foreach", "podSecurity", "cel")


def _preconditions(rule: Rule) -> Any:
    return rule.raw.get("preconditions")


@dataclass(frozen=True)
class _Validator:
    rule: Rule
    request: AdmissionRequest
    inputs: RuleInputs
    preset: frozenset[str]

    @property
    def message(self) -> str:
        return str((self.rule.validate or {}).get("message") or "")

    def run(
        self,
        block: Mapping[str, Any],
        context: EvaluationContext,
        *,
        element: Mapping[str, Any] | None,
        nesting: int,
        path: tuple[str | int, ...],
    ) -> RuleOutcome | None:
        entries = block.get("context")
        if isinstance(entries, list):
            context.load_entries(entries, resolver=self.inputs.resolver, preset=self.preset)
        try:
            holds, reason = conditions.evaluate(block.get("preconditions"), context)
        except conditions.ConditionError as error:
            return RuleOutcome("error", f"failed to evaluate preconditions: {error}")
        if not holds:
            return RuleOutcome("skip", "; ".join(s for s in ("preconditions not met", reason) if s))

        # NB: Kyverno checks context and preconditions before every kind of
        # validation, podSecurity and CEL included (pkg/engine/engine.go).
        if nesting == 0 and "podSecurity" in block:
            return _validate_pod_security(self.rule, block["podSecurity"], self.request)
        if nesting == 0 and "cel" in block:
            return _validate_cel(self.rule, block["cel"], self.request, self.inputs)
        if isinstance(block.get("deny"), Mapping):
            return self._deny(block["deny"], context)
        if "pattern" in block or "anyPattern" in block:
            return self._patterns(block, context, element=element, path=path)
        if isinstance(block.get("foreach"), list):
            return self._foreach(block["foreach"], context, element, nesting, path)
        return None

    # deny ------------------------------------------------------------------

    def _deny(self, deny: Mapping[str, Any], context: EvaluationContext) -> RuleOutcome:
        try:
            denied, reason = conditions.evaluate(deny.get("conditions"), context)
        except conditions.ConditionError as error:
            return RuleOutcome("error", f"failed to check deny conditions: {error}")
        if not denied:
            return RuleOutcome("pass", f"validation rule '{self.rule.name}' passed.")
        if not self.message and not reason:
            return RuleOutcome("fail", f"validation error: rule {self.rule.name} failed")
        text = "; ".join(s for s in (self.message, reason) if s)
        try:
            rendered = context.substitute(text)
        except _lookup_errors():
            return RuleOutcome("fail", reason)
        if not isinstance(rendered, str):
            rendered = (
                "the produced message didn't resolve to a string, check your policy definition."
            )
        return RuleOutcome("fail", rendered)

    # pattern and anyPattern --------------------------------------------------

    def _patterns(
        self,
        block: Mapping[str, Any],
        context: EvaluationContext,
        *,
        element: Mapping[str, Any] | None,
        path: tuple[str | int, ...],
    ) -> RuleOutcome | None:
        key = "pattern" if "pattern" in block else "anyPattern"
        written = block[key]
        pattern = written
        if self.rule.uses_variables:
            try:
                pattern = context.substitute(written, path=(*path, key))
            except _lookup_errors() as error:
                return RuleOutcome("error", f"variable substitution failed: {error}")
        if element is not None:
            resource: Mapping[str, Any] = element
        elif self.request.operation == "DELETE":
            return None
        else:
            resource = context.request_object or {}
        # A pattern no variable changed is the rule's own, compiled only once.
        own = pattern is written
        if key == "pattern":
            return self._pattern(pattern, resource, context, own=own)
        if not isinstance(pattern, list):
            return RuleOutcome("error", "failed to deserialize anyPattern, expected type array")
        return self._any_pattern(pattern, resource, context, own=own)

    def _match(self, pattern: Any, resource: Any, *, own: bool) -> patterns.PatternOutcome:
        if own:
            return self.rule.compiled_patterns.compiled(pattern).validate(resource)
        return patterns.validate_pattern(resource, pattern)

    def _pattern(
        self, pattern: Any, resource: Mapping[str, Any], context: EvaluationContext, *, own: bool
    ) -> RuleOutcome:
        outcome = self._match(pattern, resource, own=own)
        if outcome.status == "pass":
            return RuleOutcome("pass", f"validation rule '{self.rule.name}' passed.")
        if outcome.status == "skip":
            return RuleOutcome("skip", outcome.reason or "conditional anchor mismatch")
        if not outcome.path:
            return RuleOutcome("error", self._error_message(context, outcome.reason))
        return RuleOutcome("fail", self._failure_message(context, outcome.path), outcome.path)

    def _any_pattern(
        self,
        alternatives: Sequence[Any],
        resource: Mapping[str, Any],
        context: EvaluationContext,
        *,
        own: bool,
    ) -> RuleOutcome:
        name = self.rule.name
        failures: list[str] = []
        skips: list[str] = []
        first_path = ""
        for index, pattern in enumerate(alternatives):
            outcome = self._match(pattern, resource, own=own)
            if outcome.status == "pass":
                return RuleOutcome("pass", f"validation rule '{name}' anyPattern[{index}] passed.")
            if outcome.status == "skip":
                skips.append(f"rule {name}[{index}] skipped: {outcome.reason}")
            elif outcome.path:
                failures.append(f"rule {name}[{index}] failed at path {outcome.path}")
                first_path = first_path or outcome.path
            else:
                failures.append(f"rule {name}[{index}] failed: {outcome.reason}")
        # NB: only when every alternative skipped is the whole rule a skip.
        if skips and not failures:
            return RuleOutcome("skip", " ".join(skips))
        details = " ".join(failures)
        if not self.message:
            return RuleOutcome("fail", f"validation error: {details}", first_path)
        try:
            message = str(context.substitute(self.message))
        except _lookup_errors():
            return RuleOutcome(
                "fail",
                f"validation error: variables substitution error in rule {name} "
                f"execution error: {details}",
                first_path,
            )
        separator = " " if message.endswith(".") else ". "
        return RuleOutcome("fail", f"validation error: {message}{separator}{details}", first_path)

    def _failure_message(self, context: EvaluationContext, path: str) -> str:
        return self._phrase(context, f"failed at path {path}")

    def _error_message(self, context: EvaluationContext, reason: str) -> str:
        return self._phrase(context, f"execution error: {reason}")

    def _phrase(self, context: EvaluationContext, what: str) -> str:
        name = self.rule.name
        if not self.message:
            return f"validation error: rule {name} {what}"
        try:
            message = str(context.substitute(self.message))
        except _lookup_errors():
            return f"validation error: variables substitution error in rule {name} {what}"
        if not message.endswith("."):
            message += "."
        return f"validation error: {message} rule {name} {what}"

    # foreach ----------------------------------------------------------------

    def _foreach(
        self,
        loops: Sequence[Any],
        context: EvaluationContext,
        element: Mapping[str, Any] | None,
        nesting: int,
        path: tuple[str | int, ...],
    ) -> RuleOutcome | None:
        from bot.policy.jmespath import JMESPathError, KeyNotFoundError

        applied = 0
        list_error = ""
        for index, loop in enumerate(loops):
            if not isinstance(loop, Mapping):
                return RuleOutcome("error", f"foreach[{index}] must be a mapping")
            try:
                elements = _evaluate_list(str(loop.get("list") or ""), context)
            except KeyNotFoundError:
                # An optional list that is absent: nothing to check here.
                continue
            except (ContextError, JMESPathError) as error:
                # NB: Kyverno skips any list whose error mentions an unknown key.
                if "Unknown key" in str(error):
                    continue
                list_error = str(error)
                continue
            outcome, count = self._elements(
                loop, elements, context, element, nesting, (*path, "foreach", index)
            )
            if outcome.status != "pass":
                return outcome
            applied += count
        if applied == 0:
            if list_error:
                return RuleOutcome("error", f"failed to evaluate list: {list_error}")
            return None
        return RuleOutcome("pass", "rule passed")

    def _elements(
        self,
        loop: Mapping[str, Any],
        elements: list[Any],
        context: EvaluationContext,
        outer_element: Mapping[str, Any] | None,
        nesting: int,
        path: tuple[str | int, ...],
    ) -> tuple[RuleOutcome, int]:
        applied = 0
        scope = loop.get("elementScope")
        for index, item in enumerate(elements):
            if item is None:
                continue
            scoped_context = context.copy()
            scoped_context.add_element(item, index, nesting)
            scoped = isinstance(item, Mapping)
            if scope is not None:
                if scope and not scoped:
                    message = (
                        "cannot use elementScope=true foreach rules for elements that are "
                        f"not maps, expected type=map got type={_go_type(item)}"
                    )
                    return RuleOutcome("error", f"failed to process foreach: {message}"), applied
                scoped = bool(scope)
            element = item if scoped else outer_element
            outcome = self.run(
                loop, scoped_context, element=element, nesting=nesting + 1, path=path
            )
            if outcome is None or outcome.status == "skip":
                continue
            if outcome.status != "pass":
                if (
                    outcome.status == "error"
                    and "failed to evaluate preconditions" in outcome.message
                ):
                    continue
                return (
                    RuleOutcome(
                        outcome.status, f"validation failure: {outcome.message}", outcome.path
                    ),
                    applied,
                )
            applied += 1
        return RuleOutcome("pass", ""), applied


def _evaluate_list(expression: str, context: EvaluationContext) -> list[Any]:
    found = context.query(expression)
    return found if isinstance(found, list) else [found]


def _validate_pod_security(rule: Rule, spec: Any, request: AdmissionRequest) -> RuleOutcome | None:
    from bot.policy.pss import kyverno as pod_security

    if request.operation == "DELETE":
        return None
    if not isinstance(spec, Mapping):
        return RuleOutcome("error", "validate.podSecurity must be a mapping")
    outcome = pod_security.evaluate_pod_security(spec, request.object, rule_name=rule.name)
    return RuleOutcome(outcome.status, outcome.message)


def _validate_cel(
    rule: Rule, spec: Any, request: AdmissionRequest, inputs: RuleInputs
) -> RuleOutcome | None:
    from bot.policy import cel

    if not isinstance(spec, Mapping):
        return RuleOutcome("error", "validate.cel must be a mapping")
    preconditions = rule.raw.get("celPreconditions")
    outcome = cel.evaluate_validate_cel(
        spec,
        request,
        params=inputs.cel_params,
        preconditions=preconditions if isinstance(preconditions, list) else (),
        default_message=str((rule.validate or {}).get("message") or ""),
        rule_name=rule.name,
        context=inputs.cel_lookups,
    )
    return RuleOutcome(outcome.status, outcome.message)


def _go_type(value: Any) -> str:
    """The type name Go's %T prints for a decoded JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "float64"
    if isinstance(value, list):
        return "[]interface {}"
    return "<nil>" if value is None else "map[string]interface {}"
