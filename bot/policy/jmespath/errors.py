"""Errors raised while compiling or evaluating Kyverno JMESPath expressions.

Callers see one exception type, `JMESPathError`, whatever went wrong: a syntax
error, a function called with the wrong types, or a Kyverno function that
refused its input. Its message names the expression, because a policy holds
many and the reader must know which one to fix.

`KeyNotFoundError` is the one subclass. Kyverno's JMESPath fork fails a path
that walks into a missing key ("Unknown key ... in path") instead of yielding
null, and the engine treats that failure differently from the others.

`FunctionError` never leaves this package: the functions raise it with
Kyverno's own wording, and the evaluator wraps it into a `JMESPathError`.
"""

from __future__ import annotations


class JMESPathError(Exception):
    """An expression could not be compiled or evaluated."""

    def __init__(self, expression: str, reason: str, *, compiling: bool = False) -> None:
        self.expression = expression
        self.reason = reason
        if compiling:
            message = f"invalid JMESPath expression {expression!r}: {reason}"
        else:
            message = f"JMESPath expression {expression!r} failed: {reason}"
        super().__init__(message)


class KeyNotFoundError(JMESPathError):
    """A path named a key that the object does not have (strict paths only)."""

    def __init__(self, expression: str, key: str) -> None:
        self.key = key
        super().__init__(expression, f'Unknown key "{key}" in path')


class FunctionError(Exception):
    """A Kyverno function rejected its arguments; the text is Kyverno's."""

    def __init__(self, function: str, detail: str) -> None:
        self.function = function
        self.detail = detail
        super().__init__(f"JMESPath function '{function}': {detail}")


def argument_type_error(function: str, position: int, expected: str) -> FunctionError:
    """Kyverno's message for an argument of the wrong type (1-based position)."""
    return FunctionError(function, f"argument #{position} is not of type {expected}")
