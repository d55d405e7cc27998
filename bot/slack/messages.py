"""Every text a person reads from the bot, and the Block Kit that carries it.

The notify layer decides *what* to tell a team (a `Notice`: the workload, the
rule, the explanation and the fix) and *how often* (`Seen`: the count and the
times); this module decides how it reads. Its functions are pure: they take
those values and return a `Message` with the fallback text, the blocks, and a
file to attach when the fix diff is too long for a message. Nothing here
talks to Slack, so the same message can be posted, updated in place, or
printed in a terminal (`to_terminal` reads the very blocks Slack would get).

Slack's limits shape the layout: a section holds at most 3000 characters, a
header 150, a button's text 75 and its value 2000, and a message 50 blocks.
Text we did not write (rejection messages, diffs, names) is escaped for
mrkdwn, because `<`, `>` and `&` are markup there; fix placeholders such as
`<pin a version>` would otherwise vanish.
"""

from __future__ import annotations

import datetime
import re
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from bot.intake.violations import ENGINE_NAMES
from bot.policy.fixes.values_synthesis import PLACEHOLDER

FixStatus = Literal["exact", "guided", "none"]

RECHECK_ACTION = "rejection_recheck"
"""action_id of the button that evaluates the workload again."""
EXPLAIN_ACTION = "rejection_explain"
"""action_id of the button that shows the full explanation."""
EXCEPTION_ACTION = "exception_request"
"""action_id reserved for the exception flow; shown only where exceptions are allowed."""

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
FALLBACK_LIMIT = 3000
INLINE_DIFF_CHARS = 2400
"""A longer diff goes as a file: with its fence and heading it would not fit a section."""
INLINE_DIFF_LINES = 40
"""A longer diff is unreadable in a message even when it fits."""
QUOTE_LIMIT = 600
PLACEHOLDERS_SHOWN = 3
"""Placeholders (or change summaries) listed by name; the diff shows the rest."""
"""The rejection's own message is quoted up to this many characters."""

ACTION_HEADINGS = {
    "deny": (":no_entry:", "Blocked"),
    "audit": (":mag:", "Audited, not blocked"),
    "warn": (":warning:", "Warned, not blocked"),
    "unknown": (":grey_question:", "Flagged"),
}
EMOJI_IN_TERMINAL = {
    ":no_entry:": "⛔",
    ":mag:": "🔍",
    ":warning:": "⚠",
    ":grey_question:": "?",
    ":white_check_mark:": "✅",
    ":paperclip:": "📎",
}


@dataclass(frozen=True)
class Workload:
    """The object a team keeps in its repository: what a fix changes."""

    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        return (
            f"{self.kind} {self.namespace}/{self.name}"
            if self.namespace
            else (f"{self.kind} {self.name}")
        )


@dataclass(frozen=True)
class Placeholder:
    """A value a person must supply before a guided fix can be applied."""

    field: str
    """Where, in the dotted form people read: `spec.containers[0].image`."""
    value: str
    """The placeholder as the diff shows it, e.g. `nginx:<pin a version>`."""


@dataclass(frozen=True)
class FixView:
    """A fix as a team reads it: the status decides the wording."""

    status: FixStatus
    diff: str = ""
    summary: tuple[str, ...] = ()
    note: str = ""
    """Why the fix is guided or missing."""
    placeholders: tuple[Placeholder, ...] = ()


@dataclass(frozen=True)
class ExceptionTerms:
    """What the knowledge base says about exceptions to the rule."""

    allowed: bool
    max_duration: str | None = None
    approvers: str | None = None


@dataclass(frozen=True, kw_only=True)
class Notice:
    """Everything one rejection message says, as plain values.

    It is stored as JSON with its notification group, so that a repeat or a
    later admission can render the message again without the manifest.
    """

    key: str
    """The notification group: carried by every button."""
    workload: Workload
    team: str
    owner_reason: str = ""
    oncall: str | None = None
    engine: str
    policy: str | None
    rule: str | None
    action: str
    message: str
    path: str | None = None
    containers: tuple[str, ...] = ()
    requester: str | None = None
    title: str
    why: str
    how_to_fix: str
    references: tuple[tuple[str, str], ...] = ()
    fix: FixView = field(default_factory=lambda: FixView("none"))
    exception: ExceptionTerms | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        fix = dict(data["fix"])
        fix["summary"] = tuple(fix.get("summary") or ())
        fix["placeholders"] = tuple(Placeholder(**p) for p in fix.get("placeholders") or ())
        exception = data.get("exception")
        return cls(
            **{
                **data,
                "workload": Workload(**data["workload"]),
                "containers": tuple(data.get("containers") or ()),
                "references": tuple(tuple(pair) for pair in data.get("references") or ()),
                "fix": FixView(**fix),
                "exception": ExceptionTerms(**exception) if exception else None,
            }
        )


@dataclass(frozen=True)
class Seen:
    """How often and when the rejection happened, and whether it is over."""

    count: int
    first_seen: datetime.datetime
    last_seen: datetime.datetime
    resolved_at: datetime.datetime | None = None


@dataclass(frozen=True)
class Attachment:
    """A file to upload into the message's thread."""

    filename: str
    content: str
    title: str
    comment: str


@dataclass(frozen=True)
class Message:
    text: str
    """The notification and accessibility fallback."""
    blocks: list[dict[str, Any]]
    attachment: Attachment | None = None
    """Set when the diff did not fit: the caller uploads it in the thread."""


def rejection(notice: Notice, seen: Seen) -> Message:
    """The message for a rejection, first posted and then updated on repeats."""
    emoji, heading = ACTION_HEADINGS.get(notice.action, ACTION_HEADINGS["unknown"])
    fix_blocks, attachment = _fix_blocks(notice)
    blocks = [
        _header(f"{emoji} {heading}: {notice.workload}"),
        _section(_what_happened(notice)),
        _section(f"*Why this rule exists*\n{escape(notice.why)}"),
        *_people(notice),
        *fix_blocks,
        _actions(notice),
        _context([_seen_line(seen), *_exception_line(notice), _references(notice)]),
    ]
    return Message(_fallback(notice, heading), blocks, attachment)


def resolved(notice: Notice, seen: Seen) -> Message:
    """The same message once the workload was admitted: short, and without buttons to act on."""
    when = _time(seen.resolved_at) if seen.resolved_at else "later"
    blocks = [
        _header(f":white_check_mark: Resolved: {notice.workload}"),
        _section(
            f"~{escape(notice.title)}~\n"
            f"{escape(str(notice.workload))} was admitted at {when}, so "
            f"{_rule_phrase(notice)} no longer stops it."
        ),
        {
            "type": "actions",
            "elements": [_button("Explain", EXPLAIN_ACTION, notice.key)],
        },
        _context([_seen_line(seen)]),
    ]
    text = f"Resolved: {notice.workload} was admitted; {_rule_name(notice)} is satisfied."
    return Message(_clip(escape(text), FALLBACK_LIMIT), blocks)


def no_fix_note(reason: str, *, policy: str | None = None) -> str:
    """Why a message shows steps instead of a diff, for the reasons `bot.notify` knows."""
    notes = {
        "gatekeeper": (
            "Gatekeeper runs its Rego in the cluster, where the bot cannot derive a diff "
            "from it; follow the steps above."
        ),
        "vap": (
            "A ValidatingAdmissionPolicy's CEL expressions cannot be turned into a diff "
            "yet; follow the steps above."
        ),
        "webhook": "The webhook's own checks are unknown to the bot, so no diff is derived.",
        "no-manifest": (
            "The rejection carries no manifest and none could be read from the cluster, "
            "so no diff is derived."
        ),
        "unknown-policy": (
            f"The policy {policy or '(unnamed)'} is not among the policies the bot loaded, "
            f"so no diff is derived."
        ),
        "passes-now": (
            "The workload's current manifest passes this rule: it may have been fixed "
            "since. Press Re-check to confirm."
        ),
        "no-pod": "The manifest holds no Pod template this check could be fixed in.",
        "pending": (
            "The exact fix is still being worked out; this message is updated with it shortly."
        ),
        "failed": (
            "Deriving a fix failed on the bot's side (its log has the details); "
            "follow the steps above."
        ),
    }
    return notes.get(reason, "No change to the manifest could be derived.")


def fallback_explanation(
    *, engine: str, policy: str | None, rule: str | None
) -> tuple[str, str, str]:
    """Title, why and how, from the rejection alone, when nobody wrote an entry."""
    engine_name = ENGINE_NAMES.get(engine, engine)
    name = " / ".join(part for part in (policy, rule) if part)
    title = f"{engine_name}: {name}" if name else f"Rejected by {engine_name}"
    if engine == "psa":
        why = (
            f"The namespace enforces the Pod Security Standards ({policy or 'level not given'}), "
            f"and this check failed."
        )
    else:
        why = (
            "No explanation has been written for this rule yet; the message above is what "
            "the policy says. Ask the platform team that owns it why it exists."
        )
    how = (
        "Change what the message above names and apply the manifest again. If the "
        "accepted values are unclear, ask the team that owns the policy."
    )
    return title, why, how


def attachment_comment(notice: Notice) -> str:
    return f"The fix for {notice.workload} ({_rule_name(notice)}) as a diff."


def escape(text: str) -> str:
    """Text safe to put in mrkdwn: Slack reads `<`, `>` and `&` as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# The parts of a rejection message, top to bottom.


def _what_happened(notice: Notice) -> str:
    engine = ENGINE_NAMES.get(notice.engine, notice.engine)
    verb = {
        "deny": "refused it",
        "audit": "reported it",
        "warn": "warned about it",
    }.get(notice.action, "flagged it")
    if notice.engine == "psa":
        sentence = f"{engine} {verb} at level `{escape(notice.policy or '?')}`"
    else:
        sentence = f"{engine} {verb}: {_rule_phrase(notice)}"
    if notice.action in ("audit", "warn"):
        sentence += "; nothing was blocked"
    lines = [f"*{escape(notice.title)}*", sentence + "."]

    # Where it failed, when the rejection says.
    where = []
    if notice.path:
        where.append(f"field `{escape(notice.path)}`")
    if notice.containers:
        names = ", ".join(f"`{escape(c)}`" for c in notice.containers)
        where.append(f"container{'s' if len(notice.containers) > 1 else ''} {names}")
    if where:
        lines.append("In " + ", ".join(where) + ".")
    lines.extend(f"> {line}" for line in escape(_clip(notice.message, QUOTE_LIMIT)).split("\n"))
    return "\n".join(lines)


def _people(notice: Notice) -> list[dict[str, Any]]:
    fields = []
    if notice.requester:
        fields.append(f"*Requested by*\n`{escape(notice.requester)}`")
    owner = escape(notice.team)
    if notice.owner_reason:
        owner += f" ({escape(notice.owner_reason)})"
    if notice.oncall and notice.action == "deny":
        owner += f"\ncc {mention(notice.oncall)}"
    fields.append(f"*Owning team*\n{owner}")
    return [{"type": "section", "fields": [_mrkdwn(_clip(f, 2000)) for f in fields]}]


def _fix_blocks(notice: Notice) -> tuple[list[dict[str, Any]], Attachment | None]:
    fix = notice.fix
    if fix.status == "none" or not fix.diff:
        note = f"\n_{escape(fix.note)}_" if fix.note else ""
        return [_section(f"*How to fix*\n{escape(notice.how_to_fix)}{note}")], None

    # The heading says how far to trust the diff, and what is left to do.
    to_fill = [p for p in fix.placeholders if PLACEHOLDER.search(p.value)]
    if fix.status == "exact":
        lines = ["*Exact fix*: checked against the policy; the rule passes after it."]
    elif to_fill:
        lines = ["*Suggested fix*: fill in the placeholders, then apply it."]
        lines.extend(_placeholder_lines(to_fill))
    else:
        lines = ["*Suggested fix*: check what it changes, then apply it."]
        lines.extend(f"• {escape(line)}" for line in fix.summary[:PLACEHOLDERS_SHOWN])
        if fix.note:
            lines.append(f"_{escape(fix.note)}_")

    # A long diff goes as a file in the thread; the message says so.
    diff_lines = fix.diff.count("\n")
    if len(fix.diff) > INLINE_DIFF_CHARS or diff_lines > INLINE_DIFF_LINES:
        filename = _filename(notice)
        lines.append(
            f":paperclip: The diff has {diff_lines} lines; it is attached as `{filename}`."
        )
        attachment = Attachment(
            filename=filename,
            content=fix.diff,
            title=f"Fix for {notice.workload}: {_rule_name(notice)}",
            comment=attachment_comment(notice),
        )
        return [_section("\n".join(lines))], attachment
    lines.append(f"```{escape(fix.diff.rstrip())}```")
    return [_section("\n".join(lines))], None


def _placeholder_lines(placeholders: Sequence[Placeholder]) -> list[str]:
    """The first few placeholders by field; the rest counted, since the diff shows them."""
    lines = [
        f"• `{escape(p.field)}`: replace `{escape(p.value)}`"
        for p in placeholders[:PLACEHOLDERS_SHOWN]
    ]
    rest = placeholders[PLACEHOLDERS_SHOWN:]
    if rest:
        values = ", ".join(f"`{escape(v)}`" for v in dict.fromkeys(p.value for p in rest))
        lines.append(f"• and {len(rest)} more, marked {values} in the diff")
    return lines


def _actions(notice: Notice) -> dict[str, Any]:
    elements = [
        _button("Re-check", RECHECK_ACTION, notice.key, style="primary"),
        _button("Explain", EXPLAIN_ACTION, notice.key),
    ]
    if notice.exception is not None and notice.exception.allowed:
        elements.append(_button("Request exception", EXCEPTION_ACTION, notice.key))
    return {"type": "actions", "block_id": f"rejection:{notice.key}", "elements": elements}


def _seen_line(seen: Seen) -> str:
    if seen.count <= 1:
        return f"Seen once, at {_time(seen.first_seen)}"
    return (
        f"Seen {seen.count} times · first {_time(seen.first_seen)} · last {_time(seen.last_seen)}"
    )


def _exception_line(notice: Notice) -> list[str]:
    terms = notice.exception
    if terms is None:
        return []
    if not terms.allowed:
        return ["No exceptions are granted for this rule."]
    return [
        f"Exceptions: up to {escape(terms.max_duration or 'a limited time')}, "
        f"approved by {escape(terms.approvers or 'the platform team')}."
    ]


def _references(notice: Notice) -> str:
    links = [f"<{url}|{escape(title)}>" for title, url in notice.references[:3]]
    return "Read more: " + " · ".join(links) if links else ""


def _fallback(notice: Notice, heading: str) -> str:
    text = f"{heading}: {notice.workload} violates {_rule_name(notice)}. {notice.title}"
    return _clip(escape(text), FALLBACK_LIMIT)


def _rule_phrase(notice: Notice) -> str:
    if notice.engine == "psa":
        return f"the Pod Security level `{escape(notice.policy or '?')}`"
    parts = []
    if notice.policy:
        parts.append(f"policy `{escape(notice.policy)}`")
    if notice.rule:
        parts.append(f"rule `{escape(notice.rule)}`")
    return ", ".join(parts) or "a policy"


def _rule_name(notice: Notice) -> str:
    return "/".join(part for part in (notice.policy, notice.rule) if part) or "a policy"


def _filename(notice: Notice) -> str:
    stem = f"{notice.workload.name}-{notice.rule or notice.policy or 'fix'}"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-") + ".diff"


def mention(group: str) -> str:
    """A user group as mrkdwn: an ID pings the group, a handle is shown as written."""
    if re.fullmatch(r"S[A-Z0-9]{8,}", group):
        return f"<!subteam^{group}>"
    return escape(group)


# Block Kit building blocks.


def _header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _clip(text, HEADER_LIMIT), "emoji": True},
    }


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(_clip_mrkdwn(text, SECTION_LIMIT))}


def _context(lines: Iterable[str]) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(_clip(x, 2000)) for x in lines if x]}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip_mrkdwn(text: str, limit: int) -> str:
    """Clip, closing a code block the cut left open."""
    if len(text) <= limit:
        return text
    clipped = text[: limit - 4] + "…"
    return clipped + "```" if clipped.count("```") % 2 else clipped


def _time(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# The terminal: the same blocks, read as plain text.

_LINK = re.compile(r"<(?P<url>[^|<>]+)\|(?P<label>[^<>]+)>")
_SUBTEAM = re.compile(r"<!subteam\^(?P<id>[A-Z0-9]+)>")
_MARKERS = re.compile(r"(?<![\w*~])([*~])(?P<text>[^*~\n]+?)\1(?![\w*~])")


def to_terminal(message: Message, *, width: int = 78) -> str:
    """The message as a person would read it in Slack, for a terminal."""
    lines: list[str] = []
    for block in message.blocks:
        lines.extend(_block_lines(block, width=width))
    if message.attachment is not None:
        lines.append(f"  📎 {message.attachment.filename}: {message.attachment.title}")
        lines.extend("  │ " + line for line in message.attachment.content.rstrip().splitlines())
    return "\n".join(lines)


def _block_lines(block: Mapping[str, Any], *, width: int) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _plain(block["text"]["text"])
        return [title, "─" * min(width, max(len(title), 10))]
    if kind == "section":
        found = []
        if "text" in block:
            found.extend(_plain(block["text"]["text"]).splitlines())
        for item in block.get("fields", ()):
            found.append("  ".join(_plain(item["text"]).splitlines()))
        return [*(w for line in found for w in _wrap(line, width)), ""]
    if kind == "actions":
        return ["  ".join(f"[ {e['text']['text']} ]" for e in block["elements"]), ""]
    if kind == "context":
        return [w for e in block["elements"] for w in _wrap(f"· {_plain(e['text'])}", width)]
    return []


def _wrap(line: str, width: int) -> list[str]:
    """Prose wrapped to the width; code (indented four spaces) left as it is."""
    if line.startswith("    ") or len(line) <= width:
        return [line]
    indent = "> " if line.startswith("> ") else "  " if line[:2] in ("• ", "· ") else ""
    return textwrap.wrap(
        line, width, subsequent_indent=indent, break_on_hyphens=False, break_long_words=False
    ) or [""]


def _plain(text: str) -> str:
    """mrkdwn to terminal text: links spelled out, markers dropped, code indented."""
    text = _LINK.sub(lambda m: f"{m['label']} ({m['url']})", text)
    text = _SUBTEAM.sub(lambda m: f"@{m['id']}", text)
    for emoji, symbol in EMOJI_IN_TERMINAL.items():
        text = text.replace(emoji, symbol)
    parts = text.split("```")
    out: list[str] = []
    for index, part in enumerate(parts):
        if index % 2:
            code = unescape(part.strip("\n"))
            out.append("\n" + "\n".join("    " + line for line in code.splitlines()))
        else:
            out.append(unescape(_MARKERS.sub(r"\g<text>", part)))
    return "".join(out)
