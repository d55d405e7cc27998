"""Fitting messages into Block Kit's limits.

The fake Slack's own checker (`tests.slackfake.block_errors`) is the judge:
whatever `lay_out` returns must pass it, for hand-picked and generated input.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from bot.slack import blocks
from bot.slack.blocks import Layout, lay_out, measure, truncate
from tests.slackfake import block_errors


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def assert_slack_accepts(layout: Layout) -> None:
    for message in layout.messages:
        assert message.text.strip()
        assert measure(message.text) <= blocks.MAX_TEXT
        if message.blocks is not None:
            assert block_errors(message.blocks, limit=50) == []


def all_text(layout: Layout) -> str:
    return "\n".join(b["text"]["text"] for m in layout.messages for b in m.blocks or [])


# -- what fits is left alone -------------------------------------------------


def test_small_message_is_unchanged() -> None:
    content = [{"type": "header", "text": plain("Rejected")}, section("*Why:* no limits")]

    layout = lay_out("Rejected: web", content)

    assert layout == Layout(messages=(blocks.Message("Rejected: web", content),))


def test_short_code_block_stays_inline() -> None:
    text = "*Fix*\n```" + "+ line\n" * 100 + "```"

    layout = lay_out("fix", [section(text)])

    assert layout.snippets == ()
    assert layout.messages[0].blocks == [section(text)]


def test_missing_text_is_taken_from_blocks() -> None:
    layout = lay_out("", [section("*Why:* no limits")])

    assert layout.messages[0].text == "*Why:* no limits"


# -- cutting and splitting ---------------------------------------------------


def test_long_header_is_truncated_with_marker() -> None:
    layout = lay_out("t", [{"type": "header", "text": plain("policy " * 40)}])

    [header] = layout.messages[0].blocks or []

    assert measure(header["text"]["text"]) <= 150
    assert header["text"]["text"].endswith("…")


def test_long_section_splits_at_line_ends() -> None:
    lines = [f"{n:04d} " + "x" * 95 for n in range(70)]

    layout = lay_out("t", [section("\n".join(lines), block_id="why")])

    pieces = layout.messages[0].blocks or []
    assert len(pieces) == 3
    assert [p.get("block_id") for p in pieces] == ["why", None, None]
    assert all_text(layout).split("\n") == lines
    assert_slack_accepts(layout)


def test_single_huge_line_is_cut_hard() -> None:
    layout = lay_out("t", [section("y" * 7000)])

    assert all_text(layout).replace("\n", "") == "y" * 7000
    assert_slack_accepts(layout)


def test_many_fields_spread_over_sections() -> None:
    fields = [{"type": "mrkdwn", "text": f"field {n}"} for n in range(23)]

    layout = lay_out("t", [{"type": "section", "fields": fields}])

    pieces = layout.messages[0].blocks or []
    assert [len(p["fields"]) for p in pieces] == [10, 10, 3]
    assert_slack_accepts(layout)


def test_fields_follow_the_last_text_piece() -> None:
    fields = [{"type": "mrkdwn", "text": "Namespace: payments"}]

    layout = lay_out("t", [{**section("z" * 4000), "fields": fields}])

    pieces = layout.messages[0].blocks or []
    assert ["fields" in p for p in pieces] == [False, True]


@pytest.mark.parametrize(
    ("kind", "key", "count", "expected"),
    [("context", "elements", 12, [10, 2]), ("actions", "elements", 30, [25, 5])],
)
def test_long_lists_spread_over_blocks(
    kind: str, key: str, count: int, expected: list[int]
) -> None:
    items = [
        {"type": "button", "text": plain(f"b{n}"), "action_id": f"a{n}"}
        if kind == "actions"
        else {"type": "mrkdwn", "text": f"note {n}"}
        for n in range(count)
    ]

    layout = lay_out("t", [{"type": kind, key: items, "block_id": "x"}])

    pieces = layout.messages[0].blocks or []
    assert [len(p[key]) for p in pieces] == expected
    assert_slack_accepts(layout)


def test_long_context_text_is_truncated() -> None:
    layout = lay_out(
        "t", [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 2500}]}]
    )

    [context] = layout.messages[0].blocks or []

    assert context["elements"][0]["text"].endswith(blocks.TRUNCATED)
    assert_slack_accepts(layout)


def test_over_fifty_blocks_continue_in_more_messages() -> None:
    content = [section(f"finding {n}") for n in range(120)]

    layout = lay_out("120 findings\nmore detail", content)

    assert [len(m.blocks or []) for m in layout.messages] == [50, 50, 20]
    assert [m.text for m in layout.messages] == [
        "120 findings\nmore detail",
        "120 findings (part 2 of 3)",
        "120 findings (part 3 of 3)",
    ]


def test_big_sections_split_by_size() -> None:
    content = [section("s" * 2900) for _ in range(10)]

    layout = lay_out("t", content)

    sizes = [len(json.dumps(m.blocks, ensure_ascii=False)) for m in layout.messages]
    assert len(layout.messages) > 1
    assert max(sizes) <= blocks.MAX_MESSAGE_JSON + 10


def test_header_is_never_left_last() -> None:
    content = [section(f"n{n}") for n in range(49)]
    content += [{"type": "header", "text": plain("Next policy")}, section("body")]

    layout = lay_out("t", content)

    first, second = (m.blocks or [] for m in layout.messages)
    assert (len(first), second[0]["type"]) == (49, "header")


def test_long_plain_text_splits_into_messages() -> None:
    text = "\n".join(f"line {n} " + "w" * 90 for n in range(100))

    layout = lay_out(text)

    assert len(layout.messages) == 3
    assert all(m.blocks is None and measure(m.text) <= 4000 for m in layout.messages)
    assert "\n".join(m.text for m in layout.messages) == text


# -- long code becomes a file ------------------------------------------------


def test_long_diff_becomes_a_snippet() -> None:
    diff = "--- a/x.yaml\n+++ b/x.yaml\n@@ -1 +1 @@\n" + "-a\n+b\n" * 1000

    layout = lay_out("fix", [section(f"*Fix*\n```{diff}```\nThen apply it.")])

    [snippet] = layout.snippets
    assert (snippet.filename, snippet.content) == ("snippet-1.diff", diff.strip("\n"))
    text = all_text(layout)
    assert "attached as `snippet-1.diff`" in text
    assert text.startswith("*Fix*")
    assert text.endswith("Then apply it.")


def test_long_plain_code_becomes_txt_snippet() -> None:
    layout = lay_out("```" + "log line\n" * 500 + "```")

    assert [s.filename for s in layout.snippets] == ["snippet-1.txt"]


def test_code_is_truncated_where_files_are_not_allowed() -> None:
    layout = lay_out("t", [section("```" + "+ x\n" * 2000 + "```")], snippets=False)

    [piece] = layout.messages[0].blocks or []
    code = piece["text"]["text"]
    assert layout.snippets == ()
    assert code.startswith("```")
    assert code.endswith(blocks.TRUNCATED + "```")
    assert_slack_accepts(layout)


# -- measuring, cutting, flattening ------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"), [("abc", 3), ("é", 1), ("🚫", 2), ("🚫 denied", 9), ("", 0)]
)
def test_measure_counts_utf16_units(text: str, units: int) -> None:
    assert measure(text) == units


def test_truncate_prefers_word_ends() -> None:
    cut = truncate("The container must not run as root " * 10, 60)

    assert cut == "The container must not run as root The" + blocks.TRUNCATED


def test_flatten_keeps_the_words() -> None:
    content: list[dict[str, Any]] = [
        {"type": "header", "text": plain("Rejected")},
        {"type": "section", "text": {"type": "mrkdwn", "text": "why"}, "fields": [plain("f1")]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "policy x"}]},
        {"type": "actions", "elements": [{"type": "button", "text": plain("Request")}]},
    ]

    assert blocks.flatten(content) == "Rejected\nwhy\nf1\npolicy x"


# -- properties ---------------------------------------------------------------

_text = st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=6000)


@given(text=_text, limit=st.integers(min_value=20, max_value=4000))
def test_truncate_never_exceeds_limit(text: str, limit: int) -> None:
    assert measure(truncate(text, limit)) <= limit


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(_text.filter(str.strip), min_size=1, max_size=70),
    header=st.text(min_size=1, max_size=400).filter(str.strip),
    code=st.integers(min_value=0, max_value=9000),
)
def test_any_layout_passes_slack_checks(texts: list[str], header: str, code: int) -> None:
    content = [{"type": "header", "text": plain(header)}]
    content += [section(text) for text in texts]
    content.append(section("```" + "+ c\n" * (code // 4) + "```"))

    assert_slack_accepts(lay_out(header, content))
