"""A typed front for the `jmespath` library's function signatures.

The library registers a custom function when a `_func_<name>` method carries
its `@signature(...)` decorator. That decorator has no type hints, and mypy in
strict mode refuses untyped decorators, so the function families import this
typed wrapper instead. `ANY`, `STRING` and friends spell the argument specs
the way Kyverno's Go source lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from jmespath import functions as jp_functions

_F = TypeVar("_F", bound=Callable[..., Any])

ArgSpec = dict[str, Any]

ANY: ArgSpec = {"types": []}
STRING: ArgSpec = {"types": ["string"]}
NUMBER: ArgSpec = {"types": ["number"]}
ARRAY: ArgSpec = {"types": ["array"]}
OBJECT: ArgSpec = {"types": ["object"]}
STRING_OR_NUMBER: ArgSpec = {"types": ["string", "number"]}
OBJECT_OR_ARRAY: ArgSpec = {"types": ["object", "array"]}


def signature(*specs: ArgSpec) -> Callable[[_F], _F]:
    """Declare the argument types of a `_func_<name>` method."""
    return cast("Callable[[_F], _F]", jp_functions.signature(*specs))
