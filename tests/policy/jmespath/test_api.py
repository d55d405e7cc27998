"""The package surface: compiling, caching, the function table and its docs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.policy import jmespath as kyverno_jmespath
from bot.policy.jmespath import (
    KYVERNO_FUNCTIONS,
    OMITTED,
    JMESPathError,
    ParsedExpression,
    compile_expression,
    implemented,
)

DOCS = Path(__file__).resolve().parents[3] / "docs" / "jmespath-functions.md"


def test_compiled_expressions_are_cached() -> None:
    first = compile_expression("spec.containers[].image")

    assert compile_expression("spec.containers[].image") is first
    assert isinstance(first, ParsedExpression)


def test_compiled_expression_is_reusable() -> None:
    compiled = compile_expression("to_upper(name)")

    assert compiled.search({"name": "a"}) == "A"
    assert compiled.search({"name": "b"}) == "B"
    assert "to_upper(name)" in repr(compiled)


def test_invalid_expression_is_not_cached_as_valid() -> None:
    for _ in range(2):
        with pytest.raises(JMESPathError):
            compile_expression("a[")


def test_every_kyverno_function_is_implemented_or_explained() -> None:
    missing = set(KYVERNO_FUNCTIONS) - implemented()

    assert missing == set(OMITTED)
    assert all(reason for reason in OMITTED.values())


def test_kyverno_functions_replace_the_builtin_sum() -> None:
    assert kyverno_jmespath.search("sum(['1Ki', '1Ki'])", {}) == "2Ki"


@pytest.mark.parametrize("name", KYVERNO_FUNCTIONS)
def test_docs_list_every_kyverno_function(name: str) -> None:
    text = DOCS.read_text(encoding="utf-8")

    assert f"| `{name}` |" in text
