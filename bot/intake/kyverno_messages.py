"""Kyverno's words: enforce denials, rule messages, warnings, its own webhooks.

An enforce denial names the resource in a header and then lists, as YAML,
each failed policy with its failed rules and their messages. The header
changed across releases, and both forms are still met in the wild:

- 1.4-1.7: `resource Kind/ns/name was blocked due to the following policies`
- 1.8-1.9: `policy Kind/ns/name for resource violation:` (the arguments are
  swapped in Kyverno's source, so "policy" introduces the resource), or
  `for resource error:` when only rule errors blocked the request; pastes in
  the wild also show `violations:`
- 1.10+: the first form again, with a trailing space

A rule message says where the pattern failed (`Rule x failed at path /a/b/`,
lowercase `rule` from 1.8); anyPattern prints one such clause per
alternative (`x[0]`, `x[1]`), which are one rule. A podSecurity rule embeds
PSA's results, from which we take the container names and, in the newer
format, the first field of the error list. ValidatingPolicies (1.14+) answer
in one line: `Policy name failed: message`.

Kyverno's own webhooks also reject policies, exceptions and cleanup policies
that are invalid; those denials carry Kubernetes field errors and name no
policy rule, so they become violations with policy and rule None.
"""

from __future__ import annotations

import re

import yaml

from bot.intake import psa_messages, violations, webhook_messages
from bot.intake.violations import Action, Record, ResourceRef, Violation

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_BLOCKED = re.compile(r"resource (?P<resource>\S+) was blocked due to the following policies\s*")
_POLICY_FOR = re.compile(r"policy (?P<resource>\S+) for resource (?:violations?|errors?):\s*")
_VPOL = re.compile(r"\bPolicy (?P<policy>\S+) failed: ")
_FAILED_AT = re.compile(r"\b[Rr]ule (?P<rule>[^\s\['\"]+)(?:\[\d+\])? failed at path (?P<path>\S+)")
_FAILED = re.compile(r"\b[Rr]ule (?P<rule>[^\s\['\"]+)(?:\[\d+\])? failed\b")
_PSS_RULE = re.compile(r"Validation rule '(?P<rule>[^']+)' failed\. It violates PodSecurity")
_PSS_FIELD = re.compile(r"field error list: \[(?P<field>[^\s:]+?)(?::| is )")
_WARNING = re.compile(r"^policy (?P<policy>[^\s.]+)\.(?P<rule>\S+?): (?P<message>.*)$", re.S)
# The YAML of a denial body: `policy:` at the margin, `  rule: message` below.
_POLICY_LINE = re.compile(r"^(?P<policy>[^\s:][^:]*):\s*$")
_RULE_LINE = re.compile(r"^\s+(?P<rule>[^\s:]+):(?:\s+(?P<message>.*))?$")


def parse_webhook_answer(body: str) -> Record:
    """What one of Kyverno's webhooks answered, after `denied the request: `."""
    blocked = parse_blocked(body)
    if blocked is not None:
        return blocked
    policies = parse_validating_policies(body)
    if policies is not None:
        return policies
    return parse_own_validation(body)


def parse_blocked(text: str) -> Record | None:
    """An enforce denial (any release's header), or None when the text has none."""
    header = _BLOCKED.search(text) or _POLICY_FOR.search(text)
    if header is None:
        return None
    resource = violations.resource_from_triplet(header["resource"])
    found = [
        rule_violation(policy, rule, message)
        for policy, rule, message in policy_rules(text[header.end() :])
    ]
    return violations.build(engine="kyverno", action="deny", resource=resource, violations=found)


def parse_validating_policies(text: str) -> Record | None:
    """`Policy name failed: message`, one clause per ValidatingPolicy, or None."""
    found = list(_VPOL.finditer(text))
    if not found or found[0].start() != 0:
        return None
    policies = []
    for index, match in enumerate(found):
        end = found[index + 1].start() if index + 1 < len(found) else len(text)
        message = webhook_messages.clip(text[match.end() : end])
        policies.append(
            Violation(engine="kyverno", policy=match["policy"], rule=None, message=message)
        )
    return violations.build(engine="kyverno", action="deny", violations=policies)


def parse_own_validation(text: str) -> Record:
    """Kyverno rejected a policy, exception or cleanup policy itself.

    One violation per field error, or a single one when the answer is prose.
    """
    errors = webhook_messages.field_errors(text)
    found = [
        Violation(engine="kyverno", policy=None, rule=None, message=message, path=path)
        for path, message in errors
    ] or [Violation(engine="kyverno", policy=None, rule=None, message=webhook_messages.clip(text))]
    return violations.build(engine="kyverno", action="deny", violations=found)


def parse_warning(text: str) -> Record | None:
    """`policy <policy>.<rule>: <message>`, the admission warning of an Audit rule."""
    found = _WARNING.match(text.strip())
    if found is None:
        return None
    violation = rule_violation(found["policy"], found["rule"], found["message"])
    return violations.build(engine="kyverno", action="warn", violations=[violation])


def parse_rule_messages(text: str, *, action: Action = "unknown") -> Record | None:
    """A bare rule message (`... rule x failed at path /a/`), which names no policy."""
    rules: dict[str, str | None] = {}
    for match in _FAILED_AT.finditer(text):
        rules.setdefault(match["rule"], _clean_path(match["path"]))
    if not rules:
        for match in _FAILED.finditer(text):
            rules.setdefault(match["rule"], None)
    podsecurity = _PSS_RULE.search(text)
    if podsecurity is not None and not rules:
        rules[podsecurity["rule"]] = _podsecurity_path(text)
    if not rules:
        return None
    found = [
        Violation(
            engine="kyverno",
            policy=None,
            rule=rule,
            message=webhook_messages.clip(text),
            path=path,
            containers=_podsecurity_containers(text),
        )
        for rule, path in rules.items()
    ]
    return violations.build(engine="kyverno", action=action, violations=found)


def rule_violation(policy: str | None, rule: str | None, message: str) -> Violation:
    """One failed rule, with the path and containers its message prints."""
    path = None
    found = _FAILED_AT.search(message)
    if found is not None:
        path = _clean_path(found["path"])
    elif "PodSecurity" in message:
        path = _podsecurity_path(message)
    return Violation(
        engine="kyverno",
        policy=policy,
        rule=rule,
        message=webhook_messages.clip(message),
        path=path,
        containers=_podsecurity_containers(message),
    )


def policy_rules(body: str) -> list[tuple[str, str, str]]:
    """`(policy, rule, message)` for each failed rule of a denial body.

    The body is YAML (`policy:` then `  rule: message`); when a paste mangled
    it, a line reader recovers what it can.
    """
    try:
        loaded = yaml.load(body, Loader=_LOADER)
    except yaml.YAMLError:
        loaded = None
    if isinstance(loaded, dict) and loaded:
        entries = [
            (str(policy), str(rule), " ".join(str(message).split()))
            for policy, rules in loaded.items()
            if isinstance(rules, dict)
            for rule, message in rules.items()
        ]
        if entries:
            return entries
    return _read_lines(body)


def _read_lines(body: str) -> list[tuple[str, str, str]]:
    entries: list[tuple[str, str, str]] = []
    policy: str | None = None
    for line in body.splitlines():
        policy_line = _POLICY_LINE.match(line)
        if policy_line is not None:
            policy = policy_line["policy"].strip()
            continue
        rule_line = _RULE_LINE.match(line)
        if rule_line is not None and policy is not None:
            message = (rule_line["message"] or "").strip().strip("'\"|-").strip()
            entries.append((policy, rule_line["rule"], message))
        elif entries and line.strip():
            # A continuation of the previous rule's folded message.
            last_policy, last_rule, message = entries[-1]
            entries[-1] = (last_policy, last_rule, f"{message} {line.strip()}".strip(" '\""))
    return entries


def _clean_path(path: str) -> str:
    """A printed path without the sentence's full stop or a closing quote."""
    return path.rstrip("'\"").rstrip(".")


def _podsecurity_path(message: str) -> str | None:
    found = _PSS_FIELD.search(message)
    return found["field"] if found is not None else None


def _podsecurity_containers(message: str) -> tuple[str, ...]:
    if "PodSecurity" not in message:
        return ()
    return psa_messages.containers_in(message)


def resource_of_event(text: str) -> ResourceRef:
    """The resource of a Kyverno event message: `Kind ns/name` or `Kind name`."""
    kind, _, rest = text.partition(" ")
    namespace, slash, name = rest.rpartition("/")
    if not slash:
        return ResourceRef(kind or None, None, rest or None)
    return ResourceRef(kind or None, namespace or None, name or None)
