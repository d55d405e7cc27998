"""The wrapping every admission denial arrives in, and generic webhooks.

Whatever engine judged a request, its words reach the user wrapped by the API
server and by kubectl: `Error from server (Forbidden): error when creating
"x.yaml": admission webhook "name" denied the request: ...`, `error: failed
to create deployment: deployments.apps "x" is forbidden: ...`, `The Pod "x"
is invalid: ...`, or a controller's `Error creating: ...`. `unwrap` peels
those layers off and keeps what they tell: the webhook's name, the object
(as an API resource) and whether the text is an error at all.

A webhook that is not Kyverno's or Gatekeeper's is a "generic" webhook: its
whole answer is one violation named after the webhook. A webhook that could
not be called, and a webhook whose matchConditions failed to evaluate, reject
the request without judging it, so they yield a record with no violations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.intake import violations
from bot.intake.violations import Engine, Record, ResourceRef, Violation

_DENIED = re.compile(
    r'admission webhook "(?P<name>[^"]+)" denied the request(?P<tail>:[ \t]?| without explanation)'
)
_CALL_FAILED = re.compile(r'failed calling (?:admission )?webhook "(?P<name>[^"]+)":?\s*')
_NO_DRY_RUN = re.compile(r'admission webhook "(?P<name>[^"]+)" does not support dry run')
_RESOURCE_IS = re.compile(
    r'(?:\bThe )?(?<![\w.\-"])(?P<resource>[A-Za-z][\w.\-]*) "(?P<name>[^"]*)" '
    r"is (?P<verdict>forbidden|invalid): ?"
)
_STATEFULSET = re.compile(r"create Pod (?P<name>\S+) in StatefulSet \S+ failed error: ")
# CEL's evaluation error for a matchCondition, and its two cost-limit errors.
_MATCH_CONDITIONS = re.compile(
    r"expression '.*' resulted in error|running out of cost budget|actual cost limit exceeded",
    re.S,
)
_RBAC = re.compile(r'\bUser "[^"]*" cannot \w+')
# The layers kubectl and controllers put around the API server's message.
_PREFIX = re.compile(
    r"^\s*(?:"
    r"Error from server(?: \((?:[^()]|\([^()]*\))*\))?: ?"
    r'|error when [a-z ]+ "[^"]*": ?'
    r"|error: failed to [a-z]+ [\w.\-]+: ?"
    r"|error: |Error: |Error creating: |Internal error occurred: |Warning: "
    r")"
)
_ERROR_MARKERS = ("is forbidden:", "denied the request")
_ERROR_START = re.compile(r"^\s*(?:Error from server|error:|Error:|Error creating:|Internal error)")
# A Kubernetes field error: `spec.x[0].y: Invalid value: ...`. Only these
# types make the text before the colon a field path rather than prose.
_FIELD_ERROR = re.compile(
    r"(?:(?<=\[)|(?<=, )|(?<=; )|^\*?\s*)"
    r"(?P<field>[A-Za-z_$][\w$\-]*(?:\[[^\]\s]*\])*(?:\.[\w$\-/]+(?:\[[^\]\s]*\])*)*)"
    r": (?P<type>Invalid value|Required value|Forbidden|Unsupported value|Duplicate value"
    r"|Not found|Too long|Too many|Internal error)",
    re.M,
)

MESSAGE_LIMIT = 4000
"""Longest message we keep for one violation; webhook answers can be pages long."""


@dataclass(frozen=True)
class Envelope:
    """What the wrapping of one message tells, and the message inside it."""

    body: str
    """The innermost text: the webhook's answer, or what follows `is forbidden:`."""
    webhook: str | None = None
    """The webhook named by `admission webhook "x" denied the request`."""
    resource: ResourceRef = violations.NO_RESOURCE
    error: bool = False
    """True when the text reports a failed request (kubectl's or a controller's error)."""
    call_failure: str | None = None
    """The webhook that could not be called, when that is what happened."""
    field: str | None = None
    """The field of kubectl's `The X "y" is invalid: field: ...`, when one is printed."""


def unwrap(text: str) -> Envelope:
    """Peel kubectl's, the controllers' and the API server's layers off a message."""
    error = (
        bool(_ERROR_START.match(text)) or "is forbidden:" in text or "denied the request" in text
    )

    # A webhook that never answered wraps no verdict at all.
    failed = _CALL_FAILED.search(text) or _NO_DRY_RUN.search(text)
    if failed is not None:
        return Envelope(
            body=text[failed.end() :].strip(),
            resource=_resource_before(text, failed.start()),
            error=True,
            call_failure=failed["name"],
        )

    denied = _DENIED.search(text)
    if denied is not None:
        return Envelope(
            body=text[denied.end() :].strip() if denied["tail"].startswith(":") else "",
            webhook=denied["name"],
            resource=_resource_before(text, denied.start()),
            error=True,
        )

    # No webhook: the object and the verdict come from the API server's status.
    found = _RESOURCE_IS.search(text)
    if found is not None:
        body = text[found.end() :]
        field = None
        if found["verdict"] == "invalid":
            field, body = _split_invalid(body)
        resource = _resource_of(found["resource"], found["name"])
        return Envelope(body=body.strip(), resource=resource, error=True, field=field)
    stateful = _STATEFULSET.search(text)
    if stateful is not None:
        body = text[stateful.end() :]
        return Envelope(body=body.strip(), resource=ResourceRef("Pod", None, stateful["name"]))
    return Envelope(body=strip_prefixes(text), error=error)


def strip_prefixes(text: str) -> str:
    """The text without kubectl's and the controllers' leading layers."""
    while True:
        found = _PREFIX.match(text)
        if found is None or found.end() == 0:
            return text.strip()
        text = text[found.end() :]


def is_match_condition_failure(body: str) -> bool:
    """Whether a rejection is a matchCondition that could not be evaluated."""
    return bool(_MATCH_CONDITIONS.search(body))


def is_rbac_denial(body: str) -> bool:
    """Whether `x is forbidden:` comes from authorization rather than admission."""
    return bool(_RBAC.search(body))


def engine_of_webhook(name: str) -> Engine:
    lowered = name.lower()
    if "kyverno" in lowered:
        return "kyverno"
    if "gatekeeper" in lowered:
        return "gatekeeper"
    return "webhook"


def field_errors(text: str) -> list[tuple[str, str]]:
    """Each `(field, message)` of a Kubernetes field error list, in text order."""
    found = list(_FIELD_ERROR.finditer(text))
    errors = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        message = text[match.start("field") : end].strip().rstrip(",;]").strip()
        errors.append((match["field"], message))
    return errors


def call_failure(envelope: Envelope) -> Record:
    """A webhook that could not be reached: the request is denied, nobody judged it."""
    name = envelope.call_failure or ""
    return violations.build(
        engine=engine_of_webhook(name),
        action="deny",
        resource=envelope.resource,
        detail=f'webhook "{name}" could not be called: {clip(envelope.body)}',
    )


def match_condition_failure(envelope: Envelope) -> Record:
    return violations.build(
        engine="webhook",
        action="deny",
        resource=envelope.resource,
        detail=f"a matchCondition could not be evaluated: {clip(envelope.body)}",
    )


def generic_denial(envelope: Envelope) -> Record:
    """A webhook we have no parser for: its whole answer is one violation."""
    name = envelope.webhook
    body = envelope.body or "denied the request without explanation"
    leading = _FIELD_ERROR.match(body)
    violation = Violation(
        engine="webhook",
        policy=name,
        rule=None,
        message=clip(body),
        path=leading["field"] if leading is not None else envelope.field,
    )
    return violations.build(
        engine="webhook", action="deny", resource=envelope.resource, violations=[violation]
    )


def clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def _split_invalid(body: str) -> tuple[str | None, str]:
    """kubectl's Invalid formatter: `field: message`, or `: message` for no field."""
    if body.startswith(": "):
        return None, body[2:]
    if body.startswith(":"):
        return None, body[1:]
    leading = _FIELD_ERROR.match(body)
    if leading is not None:
        return leading["field"], body
    return None, body


def _resource_before(text: str, end: int) -> ResourceRef:
    found = _RESOURCE_IS.search(text, 0, end)
    if found is None:
        return violations.NO_RESOURCE
    return _resource_of(found["resource"], found["name"])


def _resource_of(resource: str, name: str) -> ResourceRef:
    return ResourceRef(violations.kind_for_resource(resource), None, name or None)
