"""From one rejection message to the engine that wrote it.

A message is one error or warning as kubectl, a controller or an event shows
it. `parse_message` unwraps it (see `webhook_messages`), then asks the
engine parsers in turn: the webhook's name decides between Kyverno,
Gatekeeper and a generic webhook; without a webhook, the API server's own
admission plugins (PodSecurity, ValidatingAdmissionPolicy) are recognised by
their wording. Both functions are strict: text in no known format gives no
record, so that callers reading events, conditions or audit logs can decide
what an unrecognised message means there.
"""

from __future__ import annotations

from bot.intake import (
    gatekeeper_messages,
    kyverno_messages,
    psa_messages,
    vap_messages,
    violations,
    webhook_messages,
)
from bot.intake.violations import Record
from bot.intake.webhook_messages import Envelope


def parse_message(text: str) -> list[Record]:
    """The records of one error message, or [] when no known format is in it."""
    envelope = webhook_messages.unwrap(text)
    records = _from_envelope(envelope)
    return [record.with_context(resource=envelope.resource) for record in records]


def _from_envelope(envelope: Envelope) -> list[Record]:
    if envelope.call_failure is not None:
        return [webhook_messages.call_failure(envelope)]

    # A webhook's answer: its name says whose words follow.
    if envelope.webhook is not None:
        engine = webhook_messages.engine_of_webhook(envelope.webhook)
        if engine == "kyverno":
            return [kyverno_messages.parse_webhook_answer(envelope.body)]
        if engine == "gatekeeper":
            return [gatekeeper_messages.parse_denial(envelope.body)]
        return [webhook_messages.generic_denial(envelope)]

    # The API server's own admission plugins, and bodies quoted without a webhook.
    body = envelope.body
    annotated = _from_annotation_text(body)
    if annotated:
        return annotated
    for parse in (kyverno_messages.parse_blocked, psa_messages.parse, vap_messages.parse):
        record = parse(body)
        if record is not None:
            return [record]
    if envelope.error and webhook_messages.is_match_condition_failure(body):
        return [webhook_messages.match_condition_failure(envelope)]
    record = kyverno_messages.parse_rule_messages(body)
    if record is not None:
        return [record]
    return []


def _from_annotation_text(text: str) -> list[Record]:
    """An audit annotation quoted as text (`key: value`), as docs and chats show them."""
    if vap_messages.ANNOTATION_FAILURE in text:
        value = text.split(vap_messages.ANNOTATION_FAILURE, 1)[1]
        return vap_messages.from_annotation(value.lstrip("\"': ="))
    if psa_messages.ANNOTATION_VIOLATIONS in text:
        record = psa_messages.parse(text, action="audit")
        return [record] if record is not None else []
    return []


def parse_warning(text: str) -> list[Record]:
    """The records of one admission warning (the text after `Warning: `)."""
    for parse in (
        psa_messages.parse,
        vap_messages.parse,
        kyverno_messages.parse_warning,
        gatekeeper_messages.parse_warning,
    ):
        record = parse(text)
        if record is not None:
            return [record]
    return []


def parse_gatekeeper_event(text: str) -> list[Record]:
    """A Gatekeeper event's message, when a table row is all we have of the event."""
    found = gatekeeper_messages.parse_event_message(text)
    if found is None:
        return []
    action, resource, violation = found
    return [
        violations.build(
            engine="gatekeeper", action=action, resource=resource, violations=[violation]
        )
    ]
