"""Declarations of the functions our CEL extensions add, free of any CEL library.

Each extension module describes its functions with these small values: a
name, and overloads that list parameter types by name ("string", "list",
"dyn"...). Only `environment` turns them into the CEL library's own
declarations, so the choice of library stays in one module and the extension
code is plain, typed Python that tests can call directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TYPE_NAMES = frozenset(
    {"bool", "int", "uint", "double", "string", "bytes", "list", "map", "dyn"}
    | {"timestamp", "duration", "null"}
)


class FunctionError(ValueError):
    """A CEL function refused its arguments; CEL reports it as an error value.

    The message is what a policy author sees, so it names the function, the
    offending value and what was expected.
    """


@dataclass(frozen=True)
class Overload:
    """One signature of a function, with the Python code that implements it."""

    params: tuple[str, ...]
    """Parameter types; for a member function the first is the receiver."""
    result: str
    impl: Callable[..., Any]
    member: bool = False

    def __post_init__(self) -> None:
        unknown = [name for name in (*self.params, self.result) if name not in TYPE_NAMES]
        if unknown:
            raise ValueError(f"unknown CEL type names {unknown}, expected some of {TYPE_NAMES}")


@dataclass(frozen=True)
class Function:
    name: str
    overloads: tuple[Overload, ...]

    def overload_id(self, overload: Overload) -> str:
        """A name unique across the environment, as CEL libraries require."""
        kind = "member" if overload.member else "global"
        return "_".join(["policybot", self.name.replace(".", "_"), kind, *overload.params])


def member(name: str, params: tuple[str, ...], result: str, impl: Callable[..., Any]) -> Function:
    """A function called on a receiver, as in `"abc".lowerAscii()`."""
    return Function(name, (Overload(params, result, impl, member=True),))


def function(name: str, params: tuple[str, ...], result: str, impl: Callable[..., Any]) -> Function:
    """A function called on its own, as in `quantity("1Gi")`."""
    return Function(name, (Overload(params, result, impl),))


def merge(functions: list[Function]) -> list[Function]:
    """Group overloads by function name, keeping the order of first appearance."""
    grouped: dict[str, list[Overload]] = {}
    for declared in functions:
        grouped.setdefault(declared.name, []).extend(declared.overloads)
    return [Function(name, tuple(overloads)) for name, overloads in grouped.items()]
