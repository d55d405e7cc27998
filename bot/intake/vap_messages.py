"""ValidatingAdmissionPolicy verdicts: denials, warnings and audit annotations.

The API server words a Deny as `ValidatingAdmissionPolicy 'p' with binding
'b' denied request: message` (without the binding for policies that have no
binding object) inside a Forbidden or Invalid status, and a Warn as
`Validation failed for ValidatingAdmissionPolicy 'p' with binding 'b':
message`, one warning per failed expression. One policy and binding is one
violation however many of its expressions failed.

The Audit action leaves a JSON list in the audit annotation
`validation.policy.admission.k8s.io/validation_failure`, one entry per
failure with its policy, binding and validationActions. The documentation's
own example of that value is not valid JSON, so when decoding fails the
fields are read one by one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from bot.intake import violations, webhook_messages
from bot.intake.violations import Action, Record, Violation

_DENY = re.compile(
    r"(?:ValidatingAdmissionPolicy|\bpolicy) '(?P<policy>[^']+)'"
    r"(?: with binding '(?P<binding>[^']+)')? denied request: "
)
_WARN = re.compile(
    r"Validation failed for ValidatingAdmissionPolicy '(?P<policy>[^']+)'"
    r"(?: with binding '(?P<binding>[^']+)')?: "
)
_VERDICTS: tuple[tuple[re.Pattern[str], Action], ...] = ((_DENY, "deny"), (_WARN, "warn"))
_JSON_FIELD = re.compile(r'"(?P<key>policy|binding|message)"\s*:\s*"(?P<value>(?:[^"\\]|\\.)*)"')
_JSON_ACTIONS = re.compile(r'"validationActions"\s*:\s*\[(?P<actions>[^\]]*)\]')

ANNOTATION_FAILURE = "validation.policy.admission.k8s.io/validation_failure"


def parse(text: str) -> Record | None:
    """A VAP denial or warning (several warnings of one binding merge), or None."""
    for pattern, action in _VERDICTS:
        found = list(pattern.finditer(text))
        if found:
            return _record(text, found, action=action)
    return None


def _record(text: str, found: list[re.Match[str]], *, action: Action) -> Record:
    policies = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        message = text[match.end() : end].strip()
        # A following warning line starts with kubectl's prefix; it is not ours.
        message = message.removesuffix("Warning:").strip()
        policies.append(
            Violation(
                engine="vap",
                policy=match["policy"],
                rule=match["binding"],
                message=webhook_messages.clip(message),
            )
        )
    return violations.build(engine="vap", action=action, violations=policies)


def from_annotation(value: str) -> list[Record]:
    """The records of a `validation_failure` audit annotation, one per action.

    An entry whose validationActions include Deny was denied; otherwise Warn
    means it was admitted with a warning, and Audit alone that it was only
    recorded.
    """
    entries = _decode(value)
    by_action: dict[Action, list[Violation]] = {}
    for policy, binding, message, actions in entries:
        action: Action = "deny" if "Deny" in actions else "warn" if "Warn" in actions else "audit"
        by_action.setdefault(action, []).append(
            Violation(engine="vap", policy=policy, rule=binding, message=message)
        )
    return [
        violations.build(engine="vap", action=action, violations=found)
        for action, found in by_action.items()
    ]


Entry = tuple[str | None, str | None, str, tuple[str, ...]]


def _decode(value: str) -> list[Entry]:
    try:
        loaded: Any = json.loads(value)
    except ValueError:
        return _read_fields(value)
    if isinstance(loaded, dict):
        loaded = [loaded]
    if not isinstance(loaded, list):
        return []
    entries: list[Entry] = []
    for item in loaded:
        if isinstance(item, dict):
            actions = item.get("validationActions")
            entries.append(
                (
                    _text(item.get("policy")),
                    _text(item.get("binding")),
                    str(item.get("message", "")),
                    tuple(str(a) for a in actions) if isinstance(actions, list) else (),
                )
            )
    return entries


def _read_fields(value: str) -> list[Entry]:
    """Entries of a value that is not valid JSON, read field by field."""
    fields: dict[str, list[str]] = {"policy": [], "binding": [], "message": []}
    for match in _JSON_FIELD.finditer(value):
        fields[match["key"]].append(match["value"])
    actions = [
        tuple(re.findall(r'"(\w+)"', match["actions"])) for match in _JSON_ACTIONS.finditer(value)
    ]
    entries: list[Entry] = []
    for index, policy in enumerate(fields["policy"]):
        entries.append(
            (
                policy,
                _nth(fields["binding"], index),
                _nth(fields["message"], index) or "",
                actions[index] if index < len(actions) else (),
            )
        )
    return entries


def _nth(items: list[str], index: int) -> str | None:
    return items[index] if index < len(items) else None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None
