import pytest

from bot.policy import anchors
from bot.policy.anchors import Anchor, AnchorKind


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("(name)", Anchor(AnchorKind.CONDITIONAL, "name")),
        ("=(securityContext)", Anchor(AnchorKind.EQUALITY, "securityContext")),
        ("^(containers)", Anchor(AnchorKind.EXISTENCE, "containers")),
        ("X(hostPath)", Anchor(AnchorKind.NEGATION, "hostPath")),
        ("<(image)", Anchor(AnchorKind.GLOBAL, "image")),
        ("+(imagePullPolicy)", Anchor(AnchorKind.ADD_IF_NOT_PRESENT, "imagePullPolicy")),
        ("  (name)\t", Anchor(AnchorKind.CONDITIONAL, "name")),
        ("( spaced )", Anchor(AnchorKind.CONDITIONAL, " spaced ")),
        ("((inner))", Anchor(AnchorKind.CONDITIONAL, "(inner)")),
        ("(a)(b)", Anchor(AnchorKind.CONDITIONAL, "a)(b")),
        ("=(app.kubernetes.io/*)", Anchor(AnchorKind.EQUALITY, "app.kubernetes.io/*")),
    ],
)
def test_anchored_keys_are_read(key, expected):
    parsed = anchors.parse_anchor(key)

    assert parsed == expected


@pytest.mark.parametrize(
    "key",
    ["name", "()", "=()", "Y(name)", "x(name)", "(name", "name)", "(a\nb)", "=name", ""],
)
def test_plain_keys_are_not_anchors(key):
    parsed = anchors.parse_anchor(key)

    assert parsed is None


@pytest.mark.parametrize("key", ["(name)", "=(name)", "^(name)", "X(name)", "<(name)", "+(name)"])
def test_anchors_print_as_written(key):
    anchor = anchors.parse_anchor(key)

    assert str(anchor) == key


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"a": {"(b)": 1}}, True),
        ({"a": [{"X(b)": "null"}]}, True),
        ({"<(a)": 1}, True),
        ([{"b": {"=(c)": 1}}], True),
        ({"a": {"+(b)": 1}}, False),
        ({"a": {"b": [1, 2]}}, False),
        ("(a)", False),
    ],
)
def test_nested_anchors_are_found_at_any_depth(pattern, expected):
    found = anchors.has_nested_anchors(pattern)

    assert found is expected


@pytest.mark.parametrize(
    ("key", "name"), [("=(volumes)", "volumes"), ("volumes", "volumes"), ("X(a)", "a")]
)
def test_strip_anchor_gives_the_field_name(key, name):
    stripped = anchors.strip_anchor(key)

    assert stripped == name
