"""Source rewrites: variable bindings and the lenient orValue form."""

from __future__ import annotations

import pytest

from bot.policy.cel import evaluation, rewriting


@pytest.mark.parametrize(
    ("source", "names"),
    [
        ("variables.a + variables.b.c", ["a", "b"]),
        ("variables.a == variables.a", ["a"]),
        ("'variables.a' + x.variables.b", []),
        ('r\'variables.a\' + """variables.b"""', []),
    ],
)
def test_variable_references_skip_strings_and_fields(source: str, names: list[str]) -> None:
    assert rewriting.variable_references(source) == names


def test_replace_variables_keeps_string_literals() -> None:
    source = "variables.a + 'variables.a'"

    rewritten = rewriting.replace_variables(source, {"a": "bound_a"})

    assert rewritten == "bound_a + 'variables.a'"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("authorizer.group('')", True),
        ("object.authorizer", False),
        ("'authorizer'", False),
    ],
)
def test_mentions_only_top_level_identifiers(source: str, expected: bool) -> None:
    assert rewriting.mentions(source, "authorizer") is expected


@pytest.mark.parametrize(
    ("source", "receiver"),
    [
        ("a.b.orValue(1)", "a.b"),
        ("f(x).items.orValue([])", "f(x).items"),
        ("a[0].b.orValue('')", "a[0].b"),
        ("!a.?b.orValue(false)", "a.?b"),
        ("[1, 2].orValue([])", "[1, 2]"),
    ],
)
def test_lenient_or_value_wraps_the_whole_receiver(source: str, receiver: str) -> None:
    rewritten = rewriting.with_lenient_or_value(source)

    assert f"dyn({receiver})" in rewritten
    assert rewriting.with_lenient_or_value(rewritten) == rewritten


VARIABLES = [
    evaluation.Named("containers", "object.spec.containers"),
    evaluation.Named("names", "variables.containers.map(c, c.name)"),
    evaluation.Named("broken", "object.spec.missing.field"),
]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("variables.names == ['a', 'b']", True),
        ("variables.containers.size() == 2", True),
        # A failing variable only matters where its value is needed.
        ("true || variables.broken", True),
        ("variables.names.exists(n, n == 'b') && variables.containers.size() > 1", True),
    ],
)
def test_variables_compose_lazily(expression: str, expected: bool) -> None:
    data = {"object": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}
    scope = evaluation.Scope(data, variables=VARIABLES)

    result = scope.evaluate(expression)

    assert (result.value, result.error) == (expected, "")


def test_failing_variable_reports_its_error() -> None:
    scope = evaluation.Scope({"object": {"spec": {}}}, variables=VARIABLES)

    result = scope.evaluate("variables.broken == 1")

    assert result.failed
    assert "no such key: missing" in result.error


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("object.spec.?containers.orValue([]).distinct()", False),
        ("[object.?a].isSorted()", True),
        ("optional.of([1]).value().sum() + [1].sum()", False),
        ("object.?a.hasValue() && 'abc'.contains('b')", False),
        ("[object.?a].size() > 0", False),
    ],
)
def test_optional_arguments_are_spotted(source: str, expected: bool) -> None:
    functions = frozenset({"isSorted", "distinct", "sum", "sets.contains"})

    assert rewriting.may_pass_optional(source, functions) is expected
