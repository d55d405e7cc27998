"""Rejection messages: their parts, their limits, and their terminal form."""

from __future__ import annotations

import dataclasses
import datetime
import json
from typing import Any

import pytest

from bot.slack import blocks, messages
from bot.slack.messages import (
    EXCEPTION_ACTION,
    EXPLAIN_ACTION,
    RECHECK_ACTION,
    ExceptionTerms,
    FixView,
    Notice,
    Placeholder,
    Seen,
    Workload,
)

T0 = datetime.datetime(2026, 3, 2, 9, 0, 5, tzinfo=datetime.UTC)
DIFF = """\
--- a/deployment-web.yaml
+++ b/deployment-web.yaml
@@ -10,4 +10,4 @@
       containers:
         - name: web
-          image: nginx:latest
+          image: nginx:<pin a version>
"""


def notice(**changes: Any) -> Notice:
    base = Notice(
        key="g0123456789abcdef0123",
        workload=Workload("Deployment", "shop", "web"),
        team="shop",
        owner_reason="namespace shop label team=shop",
        oncall="@shop-oncall",
        engine="kyverno",
        policy="disallow-latest-tag",
        rule="forbid-latest-tag",
        action="deny",
        message='The image tag "latest" is not allowed.',
        path="/spec/template/spec/containers/0/image/",
        requester="dev@example.com",
        title="The image tag latest is not allowed",
        why="latest points at whatever was pushed last.",
        how_to_fix="Pin a version tag or a digest.",
        references=(("Images", "https://kubernetes.io/docs/concepts/containers/images/"),),
        fix=FixView(
            "guided",
            diff=DIFF,
            summary=('set image to "nginx:<pin a version>"',),
            placeholders=(
                Placeholder("spec.template.spec.containers[0].image", "nginx:<pin a version>"),
            ),
        ),
        exception=ExceptionTerms(allowed=False),
    )
    return dataclasses.replace(base, **changes)


def seen(count: int = 1, **changes: Any) -> Seen:
    last = T0 + datetime.timedelta(seconds=30 * (count - 1))
    return dataclasses.replace(Seen(count, T0, last), **changes)


def texts_of(message: messages.Message) -> str:
    return json.dumps(message.blocks)


def buttons(message: messages.Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_blocked_message_names_workload_and_rule() -> None:
    message = messages.rejection(notice(), seen())

    header = message.blocks[0]
    assert header["type"] == "header"
    assert header["text"]["text"] == ":no_entry: Blocked: Deployment shop/web"
    assert "policy `disallow-latest-tag`, rule `forbid-latest-tag`" in texts_of(message)
    assert "dev@example.com" in texts_of(message)
    assert message.text.startswith("Blocked: Deployment shop/web violates disallow-latest-tag")


@pytest.mark.parametrize(
    ("action", "heading"),
    [
        ("deny", "Blocked"),
        ("audit", "Audited, not blocked"),
        ("warn", "Warned, not blocked"),
        ("unknown", "Flagged"),
    ],
)
def test_heading_says_whether_request_was_blocked(action: str, heading: str) -> None:
    message = messages.rejection(notice(action=action), seen())

    assert f"{heading}: Deployment shop/web" in message.blocks[0]["text"]["text"]
    assert ("nothing was blocked" in texts_of(message)) == (action in ("audit", "warn"))


def test_buttons_carry_the_group_key() -> None:
    message = messages.rejection(notice(), seen())

    found = {b["action_id"]: b["value"] for b in buttons(message)}

    assert found == {
        RECHECK_ACTION: "g0123456789abcdef0123",
        EXPLAIN_ACTION: "g0123456789abcdef0123",
    }


@pytest.mark.parametrize(
    ("terms", "shown"),
    [
        (None, False),
        (ExceptionTerms(allowed=False), False),
        (ExceptionTerms(allowed=True, max_duration="30d", approvers="Platform Security"), True),
    ],
)
def test_exception_button_only_when_allowed(terms: ExceptionTerms | None, shown: bool) -> None:
    message = messages.rejection(notice(exception=terms), seen())

    assert (EXCEPTION_ACTION in {b["action_id"] for b in buttons(message)}) == shown
    if shown:
        assert "up to 30d, approved by Platform Security" in texts_of(message)


def test_exception_refusal_is_said_in_context() -> None:
    message = messages.rejection(notice(), seen())

    context = message.blocks[-1]
    assert context["type"] == "context"
    assert "No exceptions are granted" in json.dumps(context)


def test_guided_fix_calls_out_placeholders_escaped() -> None:
    message = messages.rejection(notice(), seen())

    body = texts_of(message)
    assert "fill in the placeholders" in body
    assert "`spec.template.spec.containers[0].image`: replace `nginx:&lt;pin a version&gt;`" in body
    assert "```--- a/deployment-web.yaml" in body
    assert "<pin" not in body


def test_many_placeholders_are_counted_not_listed() -> None:
    many = tuple(Placeholder(f"spec.containers[{i}].resources", "<set a value>") for i in range(7))
    fix = dataclasses.replace(notice().fix, placeholders=many)

    body = texts_of(messages.rejection(notice(fix=fix), seen()))

    assert "spec.containers[2].resources" in body
    assert "spec.containers[3].resources" not in body
    assert "and 4 more, marked `&lt;set a value&gt;` in the diff" in body


def test_guided_fix_without_placeholders_lists_changes() -> None:
    fix = FixView(
        "guided",
        diff=DIFF,
        summary=('volume "cache": replace hostPath with an emptyDir; confirm the data',),
    )

    body = texts_of(messages.rejection(notice(fix=fix), seen()))

    assert "check what it changes" in body
    assert "replace hostPath with an emptyDir" in body


def test_exact_fix_says_it_was_proven() -> None:
    fix = FixView("exact", diff=DIFF)

    body = texts_of(messages.rejection(notice(fix=fix), seen()))

    assert "*Exact fix*: checked against the policy" in body


def test_missing_fix_shows_steps_and_reason() -> None:
    fix = FixView("none", note=messages.no_fix_note("gatekeeper"))

    body = texts_of(messages.rejection(notice(fix=fix), seen()))

    assert "*How to fix*\\nPin a version tag or a digest." in body
    assert "Gatekeeper runs its Rego in the cluster" in body


def test_long_diff_becomes_an_attachment() -> None:
    long_diff = DIFF + "".join(f"+  line {i}\n" for i in range(60))
    fix = FixView("exact", diff=long_diff)

    message = messages.rejection(notice(fix=fix), seen())

    assert message.attachment is not None
    assert message.attachment.content == long_diff
    assert message.attachment.filename == "web-forbid-latest-tag.diff"
    assert "```" not in texts_of(message)
    assert "attached as `web-forbid-latest-tag.diff`" in texts_of(message)


def test_repeat_shows_count_and_times() -> None:
    message = messages.rejection(notice(), seen(12))

    context = json.dumps(message.blocks[-1])
    assert "Seen 12 times" in context
    assert "first 2026-03-02 09:00:05 UTC" in context
    assert "last 2026-03-02 09:05:35 UTC" in context


def test_first_sighting_says_once() -> None:
    assert "Seen once, at 2026-03-02 09:00:05 UTC" in texts_of(messages.rejection(notice(), seen()))


def test_resolved_message_drops_recheck() -> None:
    done = seen(4, resolved_at=T0 + datetime.timedelta(minutes=6))

    message = messages.resolved(notice(), done)

    assert message.blocks[0]["text"]["text"].startswith(":white_check_mark: Resolved")
    assert [b["action_id"] for b in buttons(message)] == [EXPLAIN_ACTION]
    assert "admitted at 2026-03-02 09:06:05 UTC" in texts_of(message)
    assert "Seen 4 times" in texts_of(message)
    assert message.text.startswith("Resolved:")


def test_oncall_is_mentioned_only_when_blocked() -> None:
    by_id = notice(oncall="S0614TZR7")

    assert "<!subteam^S0614TZR7>" in texts_of(messages.rejection(by_id, seen()))
    assert "subteam" not in texts_of(
        messages.rejection(notice(oncall="S0614TZR7", action="audit"), seen())
    )


def test_psa_names_the_level() -> None:
    psa = notice(
        engine="psa", policy="baseline:v1.30", rule="privileged", path=None, containers=("a", "b")
    )

    body = texts_of(messages.rejection(psa, seen()))

    assert "Pod Security Admission refused it at level `baseline:v1.30`" in body
    assert "In containers `a`, `b`" in body


@pytest.mark.parametrize(
    "changes",
    [
        {"why": "x" * 10_000},
        {"message": "m" * 10_000},
        {"title": "t" * 500},
        {"workload": Workload("Deployment", "n" * 63, "w" * 253)},
        {"fix": FixView("exact", diff="+" + "y" * 2399 + "\n")},
    ],
)
def test_oversized_parts_stay_within_block_limits(changes: dict[str, Any]) -> None:
    message = messages.rejection(notice(**changes), seen())

    layout = blocks.lay_out(message.text, message.blocks)

    assert layout.messages[0].blocks == message.blocks
    assert layout.snippets == ()


def test_notice_round_trips_through_json() -> None:
    original = notice(
        containers=("a",),
        exception=ExceptionTerms(allowed=True, max_duration="7d", approvers="x"),
    )

    loaded = Notice.from_json(json.loads(json.dumps(original.to_json())))

    assert loaded == original


def test_markup_in_rejection_text_is_escaped() -> None:
    body = texts_of(messages.rejection(notice(message="a <b> & <!channel>"), seen()))

    assert "a &lt;b&gt; &amp; &lt;!channel&gt;" in body


def test_terminal_form_reads_like_slack() -> None:
    text = messages.to_terminal(messages.rejection(notice(), seen(3)))

    lines = text.splitlines()
    assert lines[0] == "⛔ Blocked: Deployment shop/web"
    assert "The image tag latest is not allowed" in lines
    assert "    +          image: nginx:<pin a version>" in lines
    assert "[ Re-check ]  [ Explain ]" in lines
    assert "· Read more: Images (https://kubernetes.io/docs/concepts/containers/images/)" in lines
    assert all(len(line) <= 78 or line.startswith("    ") or "https://" in line for line in lines)


def test_terminal_form_shows_the_attachment() -> None:
    long_diff = DIFF + "".join(f"+  line {i}\n" for i in range(60))
    message = messages.rejection(notice(fix=FixView("exact", diff=long_diff)), seen())

    text = messages.to_terminal(message)

    assert "📎 web-forbid-latest-tag.diff" in text
    assert "  │ +  line 59" in text
