"""What all three CEL policy forms share: the outcome, the scope, conditions.

A Kyverno `validate.cel` rule, a Kyverno ValidatingPolicy and a Kubernetes
ValidatingAdmissionPolicy all evaluate a list of validations against the same
variables, after optional match conditions, with named `variables` that may
build on each other. They differ in how they word failures and errors, which
their own modules decide; this one evaluates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from bot.policy.cel import admission, environment, lookups, rewriting
from bot.policy.cel.environment import Evaluation
from bot.policy.requests import AdmissionRequest

Status = Literal["pass", "fail", "skip", "error"]

_BOUND_PREFIX = "vars__"
_MAX_MESSAGE_BYTES = 5 * 1024
_OPTIONAL_ARGUMENT = (
    "this engine cannot pass optional values to list, map or Kyverno functions; "
    "unwrap them first with orValue(), value() or hasValue()"
)
_NO_AUTHORIZER = (
    "authorizer checks need a live cluster's RBAC, which offline checks do not have; "
    "evaluate this policy in the cluster"
)


@dataclass(frozen=True)
class CelOutcome:
    """The verdict of one CEL validation block on one request."""

    status: Status
    message: str
    """The validation's message or messageExpression result, or the error."""
    expression: str = ""
    """The validation that failed or errored, as written in the policy."""
    actions: tuple[str, ...] = ()
    """validationActions that apply (Deny, Warn, Audit); empty for validate.cel."""


@dataclass(frozen=True)
class Named:
    """A named expression: a variable, a match condition."""

    name: str
    expression: str


@dataclass(frozen=True)
class Validation:
    expression: str
    message: str = ""
    message_expression: str = ""
    reason: str = ""


def named_list(raw: Any) -> tuple[Named, ...]:
    entries = raw if isinstance(raw, list) else []
    return tuple(
        Named(str(entry.get("name") or ""), str(entry.get("expression") or ""))
        for entry in entries
        if isinstance(entry, Mapping)
    )


def validation_list(raw: Any) -> tuple[Validation, ...]:
    entries = raw if isinstance(raw, list) else []
    return tuple(
        Validation(
            expression=str(entry.get("expression") or ""),
            message=str(entry.get("message") or ""),
            message_expression=str(entry.get("messageExpression") or ""),
            reason=str(entry.get("reason") or ""),
        )
        for entry in entries
        if isinstance(entry, Mapping)
    )


class Scope:
    """One request's data plus a policy's variables, ready to evaluate expressions.

    Variables are bound lazily through `cel.bind`, so each expression only
    pays for the variables it (transitively) uses, and a variable that fails
    only matters where its value is needed.
    """

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        variables: Sequence[Named] = (),
        found: lookups.Lookups | None = None,
    ) -> None:
        self._bindings = environment.Bindings(data)
        self._variables = tuple((v.name, v.expression) for v in variables if v.name)
        self._found = found

    def evaluate(self, source: str) -> Evaluation:
        expanded = _expanded(source, self._variables)
        if rewriting.mentions(expanded, "authorizer"):
            return Evaluation("error", error=_NO_AUTHORIZER)
        with lookups.active(self._found):
            result = self._run(expanded)
            # Kyverno accepts `.orValue()` on values that are not optional;
            # retrying in that form cannot change a result that succeeded.
            if result.failed and "orValue" in result.error:
                lenient = self._run(rewriting.with_lenient_or_value(expanded))
                if not lenient.failed:
                    return lenient
        return result

    def _run(self, source: str) -> Evaluation:
        # NB: the CEL binding crashes the whole process when an optional
        # value reaches a Python-implemented function, so we refuse first.
        if rewriting.may_pass_optional(source, environment.python_functions()):
            return Evaluation("error", error=_OPTIONAL_ARGUMENT)
        try:
            return self._bindings.evaluate(source)
        except environment.CompileError as error:
            return Evaluation("error", error=str(error))


@lru_cache(maxsize=4096)
def _expanded(source: str, variables: tuple[tuple[str, str], ...]) -> str:
    """`source` with the variables it uses bound around it, innermost last."""
    declared = dict(variables)
    needed = _needed(source, declared)
    if not needed:
        return source
    renames = {name: _BOUND_PREFIX + name for name in declared}
    body = rewriting.replace_variables(source, renames)
    for name in reversed(needed):
        value = rewriting.replace_variables(declared[name], renames)
        body = f"cel.bind({renames[name]}, {value}, {body})"
    return body


def _needed(source: str, declared: Mapping[str, str]) -> list[str]:
    """Variables `source` uses, directly or not, in declaration order."""
    pending = [n for n in rewriting.variable_references(source) if n in declared]
    needed: set[str] = set()
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        pending.extend(r for r in rewriting.variable_references(declared[name]) if r in declared)
    return [name for name in declared if name in needed]


def request_data(
    request: AdmissionRequest,
    *,
    params: Any = None,
    namespace_object: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The values of object, oldObject, request, params and namespaceObject."""
    obj, old = admission.objects_of(request)
    return {
        "object": obj,
        "oldObject": old,
        "request": admission.request_payload(request),
        "params": params,
        "namespaceObject": namespace_object,
        "exceptions": {"allowedImages": [], "allowedValues": []},
    }


def known_namespace(
    request: AdmissionRequest, found: lookups.Lookups | None
) -> Mapping[str, Any] | None:
    """The request's namespace as an object, when anyone told us about it."""
    target = admission.target_of(request)
    if not target.namespace:
        return None
    if found is not None and target.namespace in found.namespaces:
        return found.namespaces[target.namespace]
    if request.namespace_labels:
        return admission.minimal_namespace(target.namespace, request.namespace_labels)
    return None


def conditions_hold(scope: Scope, conditions: Sequence[Named]) -> tuple[bool, list[str]]:
    """(all true, errors), as Kubernetes judges matchConditions.

    A false condition wins over errors in others: the request then simply
    does not match. Errors only count when nothing said false.
    """
    errors: list[str] = []
    for condition in conditions:
        result = scope.evaluate(condition.expression)
        if result.failed:
            errors.append(f"{condition.name}: {result.error}")
        elif result.kind != "bool":
            errors.append(f"{condition.name}: expected a bool, got {result.kind}")
        elif result.value is False:
            return False, []
    return not errors, errors


def match_conditions_outcome(
    scope: Scope,
    spec: Mapping[str, Any],
    actions: tuple[str, ...],
    *,
    error_prefix: str,
    not_met: str,
) -> CelOutcome | None:
    """The verdict a policy's matchConditions give, or None when they hold.

    False skips; errors skip only under `failurePolicy: Ignore`. The texts
    differ between Kubernetes (VAP) and Kyverno (ValidatingPolicy), so the
    caller gives them.
    """
    holds, errors = conditions_hold(scope, named_list(spec.get("matchConditions")))
    if errors:
        if str(spec.get("failurePolicy") or "Fail") == "Ignore":
            return CelOutcome("skip", "match conditions could not be evaluated", actions=actions)
        return CelOutcome("error", error_prefix + "; ".join(errors), actions=actions)
    if not holds:
        return CelOutcome("skip", not_met, actions=actions)
    return None


def expression_error(expression: str, error: str) -> str:
    """An evaluation error worded as the Kubernetes CEL filter words it."""
    return f"expression '{expression.strip()}' resulted in error: {error}"


def kubernetes_message(scope: Scope, validation: Validation) -> str:
    """The denial message Kubernetes' validator picks for a false validation.

    A messageExpression must give a non-empty, single-line string of bounded
    size; otherwise the static message is used, then the expression itself.
    """
    if validation.message_expression:
        result = scope.evaluate(validation.message_expression)
        if result.kind == "string" and isinstance(result.value, str):
            text = result.value.strip()
            if text and "\n" not in text and len(text.encode()) <= _MAX_MESSAGE_BYTES:
                return text
    if validation.message.strip():
        return validation.message.strip()
    return f"failed expression: {validation.expression.strip()}"
