"""What the slash command, its modal and the message buttons say back.

`bot.slack.messages` renders the rejection messages a team receives; this
module renders the answers to a person who asked something: `/policy check`,
`/policy explain`, `/policy help`, the manifest modal, and the Re-check and
Explain buttons. The functions are pure and return a `Reply` (fallback text
and Block Kit), so `bot.slack.app` only decides where a reply goes.

Every answer ends with a next step (a command to run, a diff to apply), and
every value we did not write is escaped for mrkdwn, as in `messages`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.slack import messages
from bot.slack.messages import escape

SECTION_LIMIT = messages.SECTION_LIMIT
MAX_BLOCKS = 50
MAX_FINDINGS = 8
"""Findings shown in full; more are listed by name, so the reply stays
readable and under Slack's 50 blocks."""
DIFF_LIMIT = 2400
MANIFEST_LIMIT = 3000
"""Slack's limit on a plain-text input in a modal."""

CHECK_MODAL = "policybot_check_manifest"
"""callback_id of the modal that takes a pasted manifest."""
MANIFEST_BLOCK = "manifest"
MANIFEST_INPUT = "manifest_text"


@dataclass(frozen=True)
class Reply:
    """One answer: the fallback text and the blocks that carry it."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One rule a checked manifest does not satisfy, with what to do."""

    policy: str
    rule: str
    """The rule as evaluated: `autogen-...` for rules generated for controllers."""
    base_rule: str = ""
    """The rule as written in the policy."""
    status: str
    """"fail", "warn" or "error", as the engine judged it."""
    blocks: bool
    """Whether admission would refuse the manifest for it (enforce)."""
    message: str
    path: str = ""
    title: str
    why: str
    how_to_fix: str
    references: tuple[tuple[str, str], ...] = ()
    fix: messages.FixView = field(default_factory=lambda: messages.FixView("none"))


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """The outcome of checking one manifest against the configured policies."""

    subject: str
    """What was checked, e.g. `Deployment shop/web` or `the pasted manifest`."""
    findings: tuple[Finding, ...]
    passed: int
    """Rules that selected the manifest and passed."""

    @property
    def blocking(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.blocks)


@dataclass(frozen=True, kw_only=True)
class Explanation:
    """A rule's explanation, as the knowledge base or the policy gives it."""

    policy: str
    rule: str | None
    title: str
    why: str
    how_to_fix: str
    snippet: str = ""
    references: tuple[tuple[str, str], ...] = ()
    exception: messages.ExceptionTerms | None = None
    message: str = ""
    """The rejection's own words, when explaining a pasted rejection."""


# -- help and usage ------------------------------------------------------------


def help_reply(command: str) -> Reply:
    lines = [
        f"*{escape(command)}* explains admission policies and fixes manifests.",
        f"• `{command} check <kind>/<namespace>/<name>`: check a live workload, "
        f"e.g. `{command} check deployment/shop/web`",
        f"• `{command} check`: paste a manifest and check it before you apply it",
        f"• `{command} explain <policy>[/<rule>]`: why a rule exists and how to comply, "
        f"e.g. `{command} explain disallow-latest-tag`",
        f"• `{command} explain <rejection>`: paste the error kubectl printed",
        "Answers are visible only to you.",
    ]
    return Reply(f"How to use {command}", [_section("\n".join(lines))])


def usage_error(command: str, problem: str) -> Reply:
    text = f"{problem} Try `{command} help` for what I can do."
    return Reply(text, [_section(f":grey_question: {escape(problem)}\nTry `{command} help`.")])


def not_an_object_name(text: str) -> str:
    return f"`{text}` is not <kind>/<namespace>/<name>, e.g. deployment/shop/web."


def unknown_kind(kind: str, known: Sequence[str]) -> str:
    return f"I cannot check `{kind}` objects; I read {', '.join(known)}."


def not_a_name(text: str) -> str:
    return f"`{text}` is not a Kubernetes name (lower case, digits, - and .)."


def unknown_subcommand(command: str, word: str) -> Reply:
    return usage_error(command, f"I do not know `{word}`.")


def working(what: str) -> str:
    """The immediate acknowledgement while the slow work runs."""
    return f":hourglass_flowing_sand: {what}…"


def failed(action: str) -> Reply:
    """Something broke on our side; the person can only retry or tell us."""
    text = (
        f"Sorry, I could not {action}: something went wrong on my side. "
        "Try again in a minute; if it keeps failing, tell the platform team "
        "(the bot's log has the details)."
    )
    return Reply(text, [_section(f":warning: {escape(text)}")])


# -- check ---------------------------------------------------------------------


def checking(subject: str) -> str:
    return working(f"Checking {subject} against the cluster's policies")


def object_unavailable(subject: str, reason: str) -> Reply:
    text = f"I could not read {subject}: {reason}"
    return Reply(
        text,
        [
            _section(
                f":no_entry_sign: I could not read {escape(subject)}.\n"
                f"{escape(reason)}\nCheck the spelling and the namespace, or paste the "
                "manifest with `check` and no arguments."
            )
        ],
    )


def cluster_not_connected(command: str) -> Reply:
    text = (
        "This bot has no cluster connection, so it cannot read live objects. "
        f"Paste the manifest instead: `{command} check` with no arguments."
    )
    return Reply(text, [_section(escape(text))])


def check_result(verdict: Verdict) -> Reply:
    """The findings for a checked manifest, blocking ones first, with fixes."""
    subject = escape(verdict.subject)
    if not verdict.findings:
        text = f"{verdict.subject} passes every policy ({verdict.passed} rules checked)."
        return Reply(text, [_section(f":white_check_mark: *{subject}* passes every policy.")])

    blocking = len(verdict.blocking)
    heading = (
        f":no_entry: *{subject}* would be refused: {_count(blocking, 'rule')} block it"
        if blocking
        else f":warning: *{subject}* would be admitted, with "
        f"{_count(len(verdict.findings), 'finding')}"
    )
    passed = f" · {verdict.passed} passed" if verdict.passed else ""
    blocks: list[dict[str, Any]] = [_section(heading + passed)]

    ordered = sorted(verdict.findings, key=lambda f: (not f.blocks, f.policy, f.rule))
    shown, hidden = ordered[:MAX_FINDINGS], ordered[MAX_FINDINGS:]
    for finding in shown:
        blocks.append({"type": "divider"})
        blocks.extend(_finding_blocks(finding))
    if hidden:
        names = ", ".join(f"`{escape(_rule_name(f.policy, f.rule))}`" for f in hidden)
        blocks.append(_section(f"…and {_count(len(hidden), 'more finding')}: {names}"))

    text = (
        f"{verdict.subject}: {_count(blocking, 'blocking rule')}, "
        f"{_count(len(verdict.findings) - blocking, 'other finding')}."
    )
    return Reply(text, blocks[:MAX_BLOCKS])


def _finding_blocks(finding: Finding) -> list[dict[str, Any]]:
    effect = "blocks admission" if finding.blocks else "reported only"
    where = f" at `{escape(finding.path)}`" if finding.path else ""
    lines = [
        f"*{escape(finding.title)}* ({escape(_rule_name(finding.policy, finding.rule))}, "
        f"{effect}){where}",
        _quote(finding.message),
    ]
    blocks = [_section("\n".join(lines))]

    fix = finding.fix
    if fix.status != "none" and fix.diff:
        heading = (
            "*Exact fix*: the rule passes after it, and no other rule breaks."
            if fix.status == "exact"
            else "*Suggested fix*: fill in the placeholders, then apply it."
        )
        lines = [heading]
        lines.extend(
            f"• `{escape(p.field)}`: replace `{escape(p.value)}`" for p in fix.placeholders
        )
        if fix.status == "guided" and fix.note and not fix.placeholders:
            lines.append(f"_{escape(fix.note)}_")
        lines.append(_diff(fix.diff))
        blocks.append(_section("\n".join(lines)))
    else:
        note = f"\n_{escape(fix.note)}_" if fix.note else ""
        blocks.append(_section(f"*How to fix*\n{escape(finding.how_to_fix)}{note}"))
    if finding.references:
        blocks.append(_context([_links(finding.references)]))
    return blocks


# -- the manifest modal --------------------------------------------------------


def manifest_modal(*, private_metadata: Mapping[str, str]) -> dict[str, Any]:
    """The modal that takes a pasted manifest; `private_metadata` travels with
    it, so the submission knows where to answer."""
    return {
        "type": "modal",
        "callback_id": CHECK_MODAL,
        "title": {"type": "plain_text", "text": "Check a manifest"},
        "submit": {"type": "plain_text", "text": "Check"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(dict(private_metadata)),
        "blocks": [
            {
                "type": "input",
                "block_id": MANIFEST_BLOCK,
                "label": {"type": "plain_text", "text": "Manifest (YAML or JSON)"},
                "hint": {
                    "type": "plain_text",
                    "text": "One or more documents. Secrets are redacted before anything "
                    "is shown. The answer is visible only to you.",
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": MANIFEST_INPUT,
                    "multiline": True,
                    "max_length": MANIFEST_LIMIT,
                    "placeholder": {
                        "type": "plain_text",
                        "text": "apiVersion: apps/v1\nkind: Deployment\n...",
                    },
                },
            }
        ],
    }


def manifest_problem(problem: str) -> str:
    """The error shown under the modal's input: plain text, short enough to
    read there at a glance."""
    return problem if len(problem) <= 140 else problem[:139] + "…"


def no_objects_in_manifest() -> str:
    return "No Kubernetes object found: paste YAML with apiVersion, kind and metadata.name."


def results_for_pasted(verdicts: Sequence[Verdict]) -> Reply:
    """One reply for every object of a pasted manifest."""
    if len(verdicts) == 1:
        return check_result(verdicts[0])
    replies = [check_result(v) for v in verdicts]
    blocks: list[dict[str, Any]] = []
    for reply in replies:
        if blocks:
            blocks.append({"type": "divider"})
        blocks.extend(reply.blocks)
    text = " ".join(reply.text for reply in replies)
    return Reply(text[:3000], blocks[:MAX_BLOCKS])


# -- explain -------------------------------------------------------------------


def explanation(explained: Explanation) -> Reply:
    name = _rule_name(explained.policy, explained.rule)
    lines = [f"*{escape(explained.title)}* (`{escape(name)}`)"]
    if explained.message:
        lines.append(_quote(explained.message))
    lines.append(f"*Why this rule exists*\n{escape(explained.why)}")
    lines.append(f"*How to comply*\n{escape(explained.how_to_fix)}")
    blocks = [_section("\n".join(lines))]
    if explained.snippet:
        blocks.append(_section(f"For example:\n{_code(explained.snippet)}"))
    context = []
    if explained.exception is not None:
        context.append(_exception_line(explained.exception))
    if explained.references:
        context.append(_links(explained.references))
    if context:
        blocks.append(_context(context))
    return Reply(f"{explained.title} ({name}): {explained.why}"[:3000], blocks)


def explanations(found: Sequence[Explanation]) -> Reply:
    """The explanations of every violation a pasted rejection names."""
    replies = [explanation(item) for item in found[:MAX_FINDINGS]]
    blocks: list[dict[str, Any]] = []
    for reply in replies:
        if blocks:
            blocks.append({"type": "divider"})
        blocks.extend(reply.blocks)
    if len(found) > MAX_FINDINGS:
        blocks.append(_section(f"…and {_count(len(found) - MAX_FINDINGS, 'more violation')}."))
    text = "; ".join(reply.text for reply in replies)
    return Reply(text[:3000], blocks[:MAX_BLOCKS])


def unknown_policy(command: str, name: str, known: Iterable[str]) -> Reply:
    names = sorted(known)
    listed = ", ".join(f"`{escape(n)}`" for n in names[:20])
    more = f" and {len(names) - 20} more" if len(names) > 20 else ""
    text = f"I know no policy or rule named {name}, and it does not read like a rejection."
    return Reply(
        text,
        [
            _section(
                f":grey_question: I know no policy or rule named `{escape(name)}`, and it does "
                f"not read like a rejection.\nPolicies I know: {listed or 'none'}{more}.\n"
                f"Paste the whole error kubectl printed: `{command} explain <error>`."
            )
        ],
    )


def nothing_to_explain(command: str) -> Reply:
    return usage_error(
        command,
        "Tell me what to explain: a policy (`explain disallow-latest-tag`), a rule "
        "(`explain require-non-root/check-runasnonroot`) or a pasted rejection.",
    )


# -- buttons -------------------------------------------------------------------


def recheck_result(*, user: str, subject: str, rule: str, passes: bool, verdict: Verdict) -> Reply:
    """The thread reply to Re-check: does the live workload pass the rule now?"""
    who = f"<@{user}>" if user else "Someone"
    rule_text = f"`{escape(rule)}`"
    if passes:
        heading = (
            f":white_check_mark: {who} re-checked {escape(subject)}: it now satisfies {rule_text}."
        )
    else:
        heading = (
            f":no_entry: {who} re-checked {escape(subject)}: it still violates {rule_text}. "
            "The fix above still applies."
        )
    others = [f for f in verdict.findings if _rule_name(f.policy, f.rule) != rule and f.blocks]
    blocks = [_section(heading)]
    if others:
        names = ", ".join(f"`{escape(_rule_name(f.policy, f.rule))}`" for f in others[:10])
        blocks.append(_context([f"Other rules that would still block it: {names}"]))
    state = "now passes" if passes else "still violates"
    return Reply(f"Re-check of {subject}: {state} {rule}.", blocks)


NO_CLUSTER = "no cluster is connected."


def foreign_policy(policy: str | None) -> str:
    """Why a rule of a policy we do not hold cannot be re-checked."""
    return (
        f"policy {policy or '(unnamed)'} is not among the policies I load, so I cannot "
        "evaluate it. The message is marked resolved once the workload is admitted."
    )


def recheck_unavailable(subject: str, reason: str) -> Reply:
    text = f"I could not re-check {subject}: {reason}"
    return Reply(text, [_section(f":warning: {escape(text)}")])


def exception_request(
    policy: str | None, rule: str | None, terms: messages.ExceptionTerms | None
) -> Reply:
    """The answer to "Request exception" while the exception flow is not built."""
    name = _rule_name(policy, rule)
    if terms is None:
        text = (
            f"Policybot cannot file exception requests yet, and the knowledge base says "
            f"nothing about exceptions to {name}: ask the platform team that owns it."
        )
    elif not terms.allowed:
        text = (
            f"No exceptions are granted for {name}; the fix above is the way through. "
            "If you think the rule is wrong for your workload, ask the platform team."
        )
    else:
        text = (
            f"Policybot cannot file exception requests yet. Exceptions to {name} last up to "
            f"{terms.max_duration or 'a limited time'} and are approved by "
            f"{terms.approvers or 'the platform team'}: ask them, with this message's link."
        )
    return Reply(text, [_section(escape(text))])


def notice_gone() -> Reply:
    text = (
        "I no longer have the details of this message (it is older than what I keep). "
        "Use `check` or `explain` with the slash command instead."
    )
    return Reply(text, [_section(escape(text))])


# -- pieces --------------------------------------------------------------------


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip_mrkdwn(text)}}


def _context(lines: Iterable[str]) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": line[:2000]} for line in lines if line],
    }


def _quote(text: str) -> str:
    clipped = text if len(text) <= messages.QUOTE_LIMIT else text[: messages.QUOTE_LIMIT] + "…"
    return "\n".join(f"> {line}" for line in escape(clipped).split("\n"))


def _diff(diff: str) -> str:
    body = diff.rstrip()
    if len(body) > DIFF_LIMIT:
        cut = body[:DIFF_LIMIT].rsplit("\n", 1)[0]
        body = cut + "\n… (cut; run `policybot fix` for all of it)"
    return _code(body)


def _code(text: str) -> str:
    return f"```{escape(text.rstrip())}```"


def _links(references: Sequence[tuple[str, str]]) -> str:
    return "Read more: " + " · ".join(f"<{url}|{escape(title)}>" for title, url in references[:3])


def _exception_line(terms: messages.ExceptionTerms) -> str:
    if not terms.allowed:
        return "No exceptions are granted for this rule."
    return (
        f"Exceptions: up to {escape(terms.max_duration or 'a limited time')}, "
        f"approved by {escape(terms.approvers or 'the platform team')}."
    )


def _rule_name(policy: str | None, rule: str | None) -> str:
    return "/".join(part for part in (policy, rule) if part) or "a policy"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _clip_mrkdwn(text: str) -> str:
    if len(text) <= SECTION_LIMIT:
        return text
    clipped = text[: SECTION_LIMIT - 4] + "…"
    return clipped + "```" if clipped.count("```") % 2 else clipped
