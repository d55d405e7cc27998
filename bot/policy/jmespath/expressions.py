"""Compiling and evaluating expressions, with every failure as `JMESPathError`.

Compilation is cached: a policy set holds a few hundred distinct expressions
and each is evaluated against every resource. It is also stricter than the
Python library in one place, the one Kyverno's Go parser is strict about: a
backtick literal must be valid JSON (`` `foo` `` is an error; write
`` `"foo"` `` or `'foo'`), where the library would quietly read it as a
string.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jmespath
from jmespath import exceptions as jp_exceptions, lexer, visitor

from bot.policy.jmespath.errors import FunctionError, JMESPathError, KeyNotFoundError
from bot.policy.jmespath.functions import KyvernoFunctions
from bot.policy.jmespath.interpreting import KyvernoInterpreter, MissingKey

_OPTIONS = visitor.Options(custom_functions=KyvernoFunctions())
_CACHE_SIZE = 2048


@dataclass(frozen=True)
class ParsedExpression:
    """A compiled expression, ready to run against any number of documents."""

    expression: str
    _ast: dict[str, Any] = field(repr=False, compare=False)

    def search(self, data: Any, *, missing_key_errors: bool = False) -> Any:
        """Evaluate against `data` (parsed JSON: dicts, lists and scalars).

        Args:
            data: The document, e.g. an admission request as a dict.
            missing_key_errors: Fail as Kyverno does when a path names a key
                the object lacks, raising `KeyNotFoundError`; by default the
                missing value is null, as in standard JMESPath.

        Raises:
            JMESPathError: A function failed or got arguments of the wrong type.
        """
        interpreter = KyvernoInterpreter(_OPTIONS, missing_key_errors=missing_key_errors)
        try:
            return interpreter.visit(self._ast, data)
        except MissingKey as missing:
            raise KeyNotFoundError(self.expression, missing.key) from None
        except FunctionError as error:
            raise JMESPathError(self.expression, str(error)) from None
        except jp_exceptions.JMESPathError as error:
            raise JMESPathError(self.expression, _describe(error)) from None


@lru_cache(maxsize=_CACHE_SIZE)
def compile_expression(expression: str) -> ParsedExpression:
    """Parse an expression once; later calls with the same text are free.

    Raises:
        JMESPathError: The expression is not valid Kyverno JMESPath.
    """
    try:
        _reject_loose_literals(expression)
        parsed = jmespath.compile(expression)
    except jp_exceptions.JMESPathError as error:
        raise JMESPathError(expression, _describe(error), compiling=True) from None
    return ParsedExpression(expression, parsed.parsed)


def search(expression: str, data: Any, *, missing_key_errors: bool = False) -> Any:
    """Compile (cached) and evaluate `expression` against `data`.

    See `ParsedExpression.search` for the arguments and errors.
    """
    return compile_expression(expression).search(data, missing_key_errors=missing_key_errors)


def _reject_loose_literals(expression: str) -> None:
    """Fail on backtick literals that are not JSON, as Go's parser does."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PendingDeprecationWarning)
        for _token in lexer.Lexer().tokenize(expression):
            pass
    if any(issubclass(w.category, PendingDeprecationWarning) for w in caught):
        raise JMESPathError(
            expression,
            "a backtick literal is not valid JSON; quote strings inside backticks "
            "(`\"text\"`) or use a raw string ('text')",
            compiling=True,
        )


def _describe(error: jp_exceptions.JMESPathError) -> str:
    """One line from the library's messages, which span several lines."""
    if isinstance(error, jp_exceptions.LexerError):
        return f"{error.message} at column {error.lexer_position}"
    if isinstance(error, jp_exceptions.IncompleteExpressionError):
        return "incomplete expression"
    if isinstance(error, jp_exceptions.ArityError):
        return str(error)
    if isinstance(error, jp_exceptions.ParseError):
        if error.token_type == "EOF":
            return "unexpected end of expression"
        return f"unexpected token {error.token_value!r} at column {error.lex_position}"
    return str(error)
