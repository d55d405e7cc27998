"""The CEL syntax tree fixes are derived from: structure, spans, literals."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.fixes import cel_syntax as syntax


def _shape(node: syntax.Node) -> Any:
    """A compact picture of a tree: operators and names, literals as values."""
    if isinstance(node, syntax.Literal):
        return node.value
    if isinstance(node, syntax.Ident):
        return node.name
    if isinstance(node, syntax.Select):
        return (".?" if node.optional else ".", _shape(node.operand), node.field)
    if isinstance(node, syntax.Index):
        return ("[?]" if node.optional else "[]", _shape(node.operand), _shape(node.index))
    if isinstance(node, syntax.Call):
        target = () if node.target is None else (_shape(node.target),)
        return (node.function, *target, *(_shape(a) for a in node.args))
    if isinstance(node, syntax.Unary):
        return (node.op, _shape(node.operand))
    if isinstance(node, syntax.Binary):
        return (node.op, _shape(node.left), _shape(node.right))
    if isinstance(node, syntax.Conditional):
        return ("?:", _shape(node.condition), _shape(node.then), _shape(node.otherwise))
    if isinstance(node, syntax.ListLit):
        return ["list", *(_shape(i) for i in node.items)]
    assert isinstance(node, syntax.MapLit)
    return {_shape(k): _shape(v) for k, v in node.entries}


@pytest.mark.parametrize(
    ("source", "shape"),
    [
        pytest.param("a || b && !c", ("||", "a", ("&&", "b", ("!", "c"))), id="precedence"),
        pytest.param(
            "x > 1 ? y : z == 2",
            ("?:", (">", "x", 1), "y", ("==", "z", 2)),
            id="conditional-is-loosest",
        ),
        pytest.param(
            "object.metadata.?labels[?'a'].orValue('')",
            ("orValue", ("[?]", (".?", (".", "object", "metadata"), "labels"), "a"), ""),
            id="optional-chain",
        ),
        pytest.param(
            "l.all(c, c.x in [1, 2])",
            ("all", "l", "c", ("in", (".", "c", "x"), ["list", 1, 2])),
            id="macro-with-list-literal",
        ),
        pytest.param("-1 + 2 * 3 % 4", ("+", ("-", 1), ("%", ("*", 2, 3), 4)), id="arithmetic"),
        pytest.param("has(a.b)", ("has", (".", "a", "b")), id="global-call"),
        pytest.param("{'k': 0x10, 'f': 1.5e1, 'u': 3u}", {"k": 16, "f": 15.0, "u": 3}, id="map"),
        pytest.param(r"'a\nb' + r'a\nb'", ("+", "a\nb", "a\\nb"), id="string-escapes-and-raw"),
        pytest.param('"""x"""', "x", id="triple-quoted"),
        pytest.param("true != null", ("!=", True, None), id="constants"),
    ],
)
def test_parse_builds_the_expected_tree(source: str, shape: Any) -> None:
    """Operators nest by CEL precedence; literals are decoded."""
    parsed = syntax.parse(source)

    assert _shape(parsed.root) == shape


def test_node_text_is_its_own_source() -> None:
    """Every node can be evaluated alone from its parenthesised span."""
    parsed = syntax.parse("object.spec.containers.all(c, c.image.startsWith('r/'))")
    texts = [parsed.text(node) for node in syntax.walk(parsed.root)]

    assert texts[:3] == [
        "(object.spec.containers.all(c, c.image.startsWith('r/')))",
        "(object.spec.containers)",
        "(object.spec)",
    ]
    assert "(c.image.startsWith('r/'))" in texts


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("a +", id="ends-early"),
        pytest.param("a b", id="trailing-token"),
        pytest.param("Msg{field: 1}", id="message-literal"),
        pytest.param("a.(b)", id="bad-field-name"),
        pytest.param("(a", id="unclosed-paren"),
    ],
)
def test_unreadable_syntax_is_reported(source: str) -> None:
    """What the parser does not read raises, so no fix is guessed from it."""
    with pytest.raises(syntax.SyntaxProblem):
        syntax.parse(source)


def test_literal_values_include_negative_numbers() -> None:
    """Lists of literals and negated numbers count as constants."""
    parsed = syntax.parse("[-1, 'a']")

    assert syntax.literal_value(parsed.root) == (True, [-1, "a"])
    assert syntax.literal_value(syntax.parse("x").root) == (False, None)
