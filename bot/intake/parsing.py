"""The entry point of intake: whatever a user pastes, the records in it.

`parse` takes text or an already decoded object. Text that reads as JSON or
YAML (see `documents` for the repairs applied to broken pastes) is routed by
what the object is: a core Event or an EventList, an audit event, a policy
report or a fragment of one, a Gatekeeper constraint with status, a
Gatekeeper log line or export message, bare audit annotations, an API
`Status`, or an object whose `status.conditions` carry a controller's
failure. Anything else is read as the output of kubectl, line by line:

- `Warning: ...` lines are admission warnings (PSA, VAP, Kyverno,
  Gatekeeper); warnings of one request merge into one record per engine,
  and the `kind/name created` line that follows names their object;
- PSA's warnings about existing pods in a labelled namespace, one per pod;
- rows of `kubectl describe` and `kubectl get events`;
- log lines ending in a JSON object (Gatekeeper's export, audit logs);
- everything else is grouped into messages, a new one at each error line,
  and each message goes to `messages.parse_message`.

Text in no known format still yields one generic record (engine `webhook`,
or the caller's `engine_hint` when it knows where the text came from), so a
user always gets an answer; only empty input yields nothing. Once records are
found, those without violations are dropped when others have some, since an
event stream or a report is read for what it rejected.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.intake import (
    audit_events,
    documents,
    events,
    gatekeeper_messages,
    messages,
    psa_messages,
    reports,
    violations,
    webhook_messages as webhooks,
)
from bot.intake.violations import Action, Engine, Record, ResourceRef, Violation

logger = logging.getLogger(__name__)

_CONTINUATION = re.compile(r"[ \t]*\\\r?\n[ \t]*")
_APPLIED = re.compile(
    r"^(?P<resource>[a-z][\w.\-]*)/(?P<name>\S+) (?:created|configured|unchanged|replaced|"
    r"patched|labeled|annotated|serverside-applied)(?: \(.*\))?$"
)
_SEGMENT_START = re.compile(r"^\s*(?:Error from server|error:|Error:|The \S+ \"[^\"]*\" is)")
_FENCE = re.compile(r"^\s*```[\w-]*\s*$", re.M)
_WARNING = "Warning: "
GENERIC_DETAIL = "The text matches no rejection format we know; it is shown as it is."
CONDITION_STATUSES = frozenset({"True", "False", "Unknown"})


def parse(payload: str | Mapping[str, Any], *, engine_hint: Engine | None = None) -> list[Record]:
    """The rejection records in a pasted text or a decoded object.

    Args:
        payload: kubectl output, an event, report or audit event as text
            (JSON or YAML, repaired when slightly broken), or the decoded object.
        engine_hint: the engine the payload is known to come from, used only
            for text that names none (e.g. a Kyverno rule's own message).

    Never raises on bad input: text in no known format gives one generic
    record, empty input none. Malformed JSON or YAML is repaired where that
    is safe (see `documents`); what still does not load is read as text.
    """
    try:
        if isinstance(payload, Mapping):
            found = route_object(payload)
            if found is None:
                found = [_generic(_describe_object(payload), hint=engine_hint)]
        else:
            found = _parse_text(payload, hint=engine_hint)
    except Exception:
        # NB: a parser bug must not cost the user the answer; say so and fall back.
        logger.exception("A rejection could not be parsed; it is shown as a generic record.")
        text = payload if isinstance(payload, str) else _describe_object(payload)
        found = [_generic(text, hint=engine_hint)] if text.strip() else []
    return _keep_meaningful(found)


def route_object(obj: Any) -> list[Record] | None:
    """The records of one decoded object, or None when it is of no known shape."""
    if isinstance(obj, list):
        return _route_list(obj)
    if not isinstance(obj, Mapping):
        return None
    kind = obj.get("kind")
    items = obj.get("items")
    if kind in ("EventList", "List") and isinstance(items, list):
        return _route_list(items)
    if audit_events.is_audit_event(obj):
        return audit_events.from_event(obj)
    if events.is_event(obj):
        return events.from_object(obj)
    if reports.is_report(obj):
        return reports.from_report(obj)
    if reports.is_result(obj):
        return reports.from_results([obj])
    if gatekeeper_messages.is_constraint(obj):
        return gatekeeper_messages.from_constraint(obj)
    if gatekeeper_messages.is_log(obj):
        return [gatekeeper_messages.from_log(obj)]
    if audit_events.is_annotations(obj):
        return audit_events.from_annotations(obj)
    if kind == "Status" and isinstance(obj.get("message"), str):
        return _from_status(obj)
    return _from_conditions(obj)


def _route_list(items: Sequence[Any]) -> list[Record] | None:
    if reports.is_result_list(items):
        return reports.from_results(items)
    if items and all(_is_condition(item) for item in items):
        conditions = _condition_records(items)
        if conditions:
            return conditions
    found: list[Record] = []
    recognised = False
    for item in items:
        records = route_object(item)
        if records is not None:
            recognised = True
            found.extend(records)
    return found if recognised else None


def _from_status(obj: Mapping[str, Any]) -> list[Record]:
    """An API `Status`, as a client library or `kubectl -v` shows a failed request."""
    found = messages.parse_message(obj["message"])
    details = obj.get("details")
    resource = violations.NO_RESOURCE
    if isinstance(details, Mapping) and details.get("kind"):
        kind = violations.kind_for_resource(str(details["kind"]))
        resource = ResourceRef(kind, None, str(details.get("name") or "") or None)
    if not found:
        found = [webhooks.generic_denial(webhooks.unwrap(obj["message"]))]
    return [record.with_context(resource=resource, action="deny") for record in found]


def _from_conditions(obj: Mapping[str, Any]) -> list[Record] | None:
    status = obj.get("status")
    conditions = status.get("conditions") if isinstance(status, Mapping) else None
    if not isinstance(conditions, list):
        return None
    return _condition_records(conditions) or None


def _is_condition(item: Any) -> bool:
    """A status condition: a type, a True/False/Unknown status and a message."""
    return (
        isinstance(item, Mapping)
        and "type" in item
        and isinstance(item.get("message"), str)
        and str(item.get("status")) in CONDITION_STATUSES
    )


def _condition_records(conditions: Sequence[Any]) -> list[Record]:
    """Controller conditions (`ReplicaFailure` and friends) that carry a denial."""
    found: list[Record] = []
    for condition in conditions:
        if isinstance(condition, Mapping) and isinstance(condition.get("message"), str):
            found.extend(messages.parse_message(condition["message"]))
    return found


def _parse_text(text: str, *, hint: Engine | None) -> list[Record]:
    # People paste from chat: drop markdown code fences around the text.
    text = _FENCE.sub("", text)
    if not text.strip():
        return []
    loaded = documents.load(text)
    if loaded is not None:
        routed = _route_list(loaded)
        if routed is not None:
            return routed
    found = Transcript().read(text)
    if found:
        return found
    return [_generic(text, hint=hint)]


class Transcript:
    """Reads kubectl's output line by line; see the module docstring."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.message: list[str] = []
        self.namespace_warnings = psa_messages.NamespaceWarnings()
        self.unnamed_from = 0
        """Index of the first record a following `kind/name created` line names."""

    def read(self, text: str) -> list[Record]:
        for line in _CONTINUATION.sub(" ", text).splitlines():
            self._line(line.rstrip("\r"))
        self._flush()
        self._close_namespace()
        return _merge_warnings(self.records)

    def _line(self, line: str) -> None:
        stripped = line.strip()

        # Warnings, and PSA's about existing pods, which come as warnings too.
        if stripped.startswith(_WARNING) or "existing pods in namespace" in stripped:
            self._flush()
            body = stripped.removeprefix(_WARNING)
            if self.namespace_warnings.header(body) or self.namespace_warnings.pod(body):
                return
            self.records.extend(messages.parse_warning(body))
            return
        self._close_namespace()

        # What kubectl says it did: names the object of the warnings above.
        applied = _APPLIED.match(stripped)
        if applied is not None:
            self._flush()
            self._name_warned(applied["resource"], applied["name"])
            return

        # A table row of events, or a log line ending in a JSON object.
        row = events.parse_row(line)
        if row is not None:
            self._flush()
            self.records.extend(_row_records(row))
            return
        if stripped.endswith("}") and "{" in stripped:
            logged = self._json_line(stripped)
            if logged is not None:
                self._flush()
                self.records.extend(logged)
                return

        if _SEGMENT_START.match(line):
            self._flush()
        self.message.append(line)

    def _flush(self) -> None:
        text = "\n".join(self.message)
        self.message = []
        if text.strip():
            self.records.extend(messages.parse_message(text))

    def _close_namespace(self) -> None:
        self.namespace_warnings.close()
        self.records.extend(self.namespace_warnings.records)
        self.namespace_warnings.records.clear()

    def _name_warned(self, resource: str, name: str) -> None:
        ref = ResourceRef(violations.kind_for_resource(resource), None, name)
        for index in range(self.unnamed_from, len(self.records)):
            record = self.records[index]
            if record.action == "warn" and record.resource.kind is None:
                self.records[index] = record.with_context(resource=ref)
        self.unnamed_from = len(self.records)

    @staticmethod
    def _json_line(line: str) -> list[Record] | None:
        loaded = documents.load_json(line[line.index("{") :])
        if not loaded:
            return None
        routed = _route_list(loaded)
        if routed is not None:
            return routed
        # A structured log line of some client: its message may be a warning.
        found: list[Record] = []
        for entry in loaded:
            text = entry.get("msg") or entry.get("message") if isinstance(entry, Mapping) else None
            if isinstance(text, str):
                found.extend(messages.parse_warning(text) or messages.parse_message(text))
        return found or None


def _row_records(row: events.EventView) -> list[Record]:
    # A row keeps too little of an unrelated event to say anything about it.
    return [record for record in events.records_of(row) if record.engine is not None]


def _merge_warnings(records: list[Record]) -> list[Record]:
    """Consecutive warnings of one engine about one object are one record."""
    merged: list[Record] = []
    for record in records:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and record.action == previous.action == "warn"
            and (record.engine, record.resource) == (previous.engine, previous.resource)
        ):
            merged[-1] = violations.build(
                engine=previous.engine,
                action="warn",
                resource=previous.resource,
                requester=previous.requester,
                violations=(*previous.violations, *record.violations),
            )
        else:
            merged.append(record)
    return merged


def _keep_meaningful(records: list[Record]) -> list[Record]:
    """Drop records without violations when others have some."""
    if any(record.violations for record in records):
        return [record for record in records if record.violations]
    return records


def _generic(text: str, *, hint: Engine | None) -> Record:
    """The answer for text in no known format: one violation holding the text."""
    envelope = webhooks.unwrap(text)
    action: Action = "unknown"
    if text.lstrip().startswith(_WARNING):
        action = "warn"
    elif envelope.error:
        action = "deny"
    engine: Engine = hint or "webhook"
    violation = Violation(
        engine=engine,
        policy=envelope.webhook,
        rule=None,
        message=webhooks.clip(envelope.body or text),
        path=envelope.field,
    )
    return violations.build(
        engine=engine,
        action=action,
        resource=envelope.resource,
        violations=[violation],
        detail=GENERIC_DETAIL,
    )


def _describe_object(obj: Mapping[str, Any]) -> str:
    kind = obj.get("kind")
    return f"an object of kind {kind}" if kind else "an object of no known shape"
