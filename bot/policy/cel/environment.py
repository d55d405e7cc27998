"""The CEL environment Kubernetes and Kyverno policies are written against.

This is the only module that touches the CEL library (cel-expr-python, the
Python binding of Google's C++ CEL implementation; docs/cel.md says why). It
declares the variables policies may use, loads the standard extensions
(optional types, strings, math, bindings, encoders) and our own function
declarations, compiles expressions once, and evaluates them into plain
`Evaluation` values, turning the library's errors into the wording cel-go
uses, since that is what Kubernetes and Kyverno users see.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

from cel_expr_python import cel  # type: ignore[import-untyped]
from cel_expr_python.ext import (  # type: ignore[import-untyped]
    ext_bindings,
    ext_encoders,
    ext_math,
    ext_optional,
    ext_strings,
)

from bot.policy.cel import (
    extensions_kyverno,
    extensions_lists,
    extensions_network,
    extensions_quantity,
    extensions_semver,
    extensions_text,
)
from bot.policy.cel.signatures import Function, FunctionError, merge

logger = logging.getLogger(__name__)

DATA_VARIABLES = (
    "object",
    "oldObject",
    "request",
    "params",
    "namespaceObject",
    "variables",
    "exceptions",
    "authorizer",
)
"""Variables that hold request data; each is bound per evaluation."""

_INT64_RANGE = (-(2**63), 2**63 - 1)
_STATUS_PREFIX = re.compile(r"^[A-Z_]+: ")
_ERROR_REWRITES = (
    (re.compile(r'Key not found in map : "?([^"]*)"?'), r"no such key: \1"),
    (re.compile(r"No matching overloads found : ?"), "no such overload: "),
    (re.compile(r"Index error: index=(-?\d+) size=(\d+)"), r"index out of bounds: \1"),
    (re.compile(r"^divide by zero$"), "division by zero"),
    (
        re.compile(r"Applying SELECT to non-message type"),
        "cannot select a field of a non-map value",
    ),
    (
        re.compile(r"Non-CEL value type for 'Python function '<.*?>'': ([\w.]+?)\.?$"),
        r"a function returned a \1, which this engine cannot hand back to CEL",
    ),
)


class CompileError(ValueError):
    """The expression does not compile; the message is the compiler's."""


@dataclass(frozen=True)
class Evaluation:
    """What one expression evaluated to: a value of a CEL type, or an error."""

    kind: str
    """The CEL type, lowercased: "bool", "string", "list", "error"..."""
    value: Any = None
    """The Python value for scalar kinds (bool, int, double, string, null)."""
    error: str = ""

    @property
    def failed(self) -> bool:
        return self.kind == "error"


class Bindings:
    """Variable values for one request, converted once and reused per expression."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        values: dict[str, Any] = dict.fromkeys(DATA_VARIABLES)
        values.update({name: to_cel_data(value) for name, value in data.items()})
        values.update({name: name for name in extensions_kyverno.VARIABLES})
        self._activation = _environment().Activation(values)

    def evaluate(self, source: str) -> Evaluation:
        """Evaluate `source`; a compile error raises CompileError."""
        program = compile_expression(source)
        try:
            result = program.eval(self._activation)
        except RuntimeError as error:
            # The binding raises, instead of returning an error value, when a
            # function hands back a value it cannot convert.
            return Evaluation("error", error=readable_error(str(error)))
        return _evaluation_of(result)


def compile_expression(source: str) -> Any:
    program, error = _compiled(source)
    if error:
        raise CompileError(error)
    return program


def check(source: str) -> str:
    """The compile error of `source`, or "" when it compiles."""
    return _compiled(source)[1]


def to_cel_data(value: Any) -> Any:
    """A copy of `value` built only from types CEL understands.

    YAML readers turn unquoted dates into date objects, but Kubernetes hands
    CEL the JSON text, so such values become RFC 3339 strings again.
    """
    if isinstance(value, Mapping):
        return {_cel_key(key): to_cel_data(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_cel_data(item) for item in value]
    if isinstance(value, bool | str | float | bytes) or value is None:
        return value
    if isinstance(value, int):
        return value if _INT64_RANGE[0] <= value <= _INT64_RANGE[1] else float(value)
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def readable_error(message: str) -> str:
    """A library error message in the words cel-go would use."""
    lines = [line.strip() for line in message.strip().splitlines()]
    errors = [_STATUS_PREFIX.sub("", line) for line in lines if line.startswith(("ERROR:", "INV"))]
    text = "; ".join(errors) if errors else (lines[0] if lines else "unknown error")
    text = _STATUS_PREFIX.sub("", text)
    text = re.sub(r"\s*\[[A-Z_]+\]$", "", text)
    for pattern, replacement in _ERROR_REWRITES:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=1)
def python_functions() -> frozenset[str]:
    """Names of our functions that take lists, maps or any value."""
    return frozenset(
        function.name
        for function in _declared()
        if any(p in ("list", "map", "dyn") for o in function.overloads for p in o.params)
    )


@lru_cache(maxsize=4096)
def _compiled(source: str) -> tuple[Any, str]:
    try:
        return _environment().compile(source), ""
    except RuntimeError as error:
        return None, f"compilation failed: {readable_error(str(error))}"


@lru_cache(maxsize=1)
def _declared() -> tuple[Function, ...]:
    return tuple(
        merge(
            [
                *extensions_lists.functions(),
                *extensions_text.functions(),
                *extensions_quantity.functions(),
                *extensions_semver.functions(),
                *extensions_network.functions(),
                *extensions_kyverno.functions(),
            ]
        )
    )


@lru_cache(maxsize=1)
def _environment() -> Any:
    declared = _declared()
    # NB: our declarations come last and as one extension, so the library
    # merges overloads such as the lists' indexOf into the strings' ones.
    ours = cel.CelExtension("policybot", [_declaration(function) for function in declared])
    variables = dict.fromkeys(DATA_VARIABLES, cel.Type.DYN)
    variables.update(dict.fromkeys(extensions_kyverno.VARIABLES, cel.Type.STRING))
    return cel.NewEnv(
        variables=variables,
        extensions=[
            ext_optional.ExtOptional(),
            ext_strings.ExtStrings(),
            ext_math.ExtMath(),
            ext_bindings.ExtBindings(),
            ext_encoders.ExtEncoders(),
            ours,
        ],
    )


def _declaration(function: Function) -> Any:
    overloads = [
        cel.Overload(
            function.overload_id(overload),
            _cel_type(overload.result),
            [_cel_type(name) for name in overload.params],
            is_member=overload.member,
            impl=_guarded(function.name, overload.impl),
        )
        for overload in function.overloads
    ]
    return cel.FunctionDecl(function.name, overloads)


def _cel_type(name: str) -> Any:
    if name == "list":
        return cel.Type.List(cel.Type.DYN)
    if name == "map":
        return cel.Type.Map(cel.Type.DYN, cel.Type.DYN)
    return getattr(cel.Type, name.upper())


def _guarded(name: str, impl: Callable[..., Any]) -> Callable[..., Any]:
    """Make every failure of `impl` a CEL error value that names the function."""

    def call(*args: Any) -> Any:
        try:
            result = impl(*args)
        except FunctionError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, OverflowError) as error:
            logger.debug("CEL function %s failed on its arguments", name, exc_info=True)
            raise FunctionError(f"{name}: {error}") from None
        # Timestamps and durations are CEL values too; data from files is not.
        return result if isinstance(result, datetime | timedelta) else to_cel_data(result)

    return call


def _evaluation_of(result: Any) -> Evaluation:
    kind = str(result.type().name()).split("<")[0].lower()
    if kind == "error":
        return Evaluation("error", error=readable_error(str(result.value())))
    # NB: only scalars are read back; turning an optional into Python fails.
    if kind in ("bool", "int", "uint", "double", "string", "null_type"):
        return Evaluation(kind, result.value())
    return Evaluation(kind)


def _cel_key(key: Any) -> Any:
    return key if isinstance(key, str | int | bool) else str(key)
