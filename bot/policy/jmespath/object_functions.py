"""Kyverno's functions that take objects and arrays apart or build them.

lookup, items, object_from_lists and label_match. Keys that Kyverno turns
into strings (object_from_lists) go through Go's float32 printing, so a key
of `1` stays `"1"` and numbers compare as Go compares them (`1 == 1.0`).
"""

from __future__ import annotations

from typing import Any

from bot.policy.jmespath import values
from bot.policy.jmespath.errors import FunctionError, argument_type_error
from bot.policy.jmespath.signatures import (
    ARRAY,
    OBJECT,
    OBJECT_OR_ARRAY,
    STRING,
    STRING_OR_NUMBER,
    signature,
)


def _key_text(key: Any) -> str | None:
    """Kyverno's `ifaceToString`, or None for keys it refuses."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if values.is_number(key):
        return values.go_float32_text(key)
    return None


class ObjectFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(OBJECT_OR_ARRAY, STRING_OR_NUMBER)
    def _func_lookup(self, collection: dict[str, Any] | list[Any], key: Any) -> Any:
        if isinstance(collection, dict):
            if not isinstance(key, str):
                raise argument_type_error("lookup", 2, "String")
            return collection.get(key)
        if not values.is_number(key):
            raise argument_type_error("lookup", 2, "Number")
        try:
            index = values.int_number(key)
        except ValueError as error:
            raise FunctionError("lookup", f"argument #2: {error}") from None
        # NB: unlike an index expression, a negative index finds nothing.
        return collection[index] if 0 <= index < len(collection) else None

    @signature(OBJECT_OR_ARRAY, STRING, STRING)
    def _func_items(
        self, collection: dict[str, Any] | list[Any], key_name: str, value_name: str
    ) -> list[dict[str, Any]]:
        if isinstance(collection, dict):
            return [{key_name: key, value_name: collection[key]} for key in sorted(collection)]
        return [{key_name: index, value_name: item} for index, item in enumerate(collection)]

    @signature(ARRAY, ARRAY)
    def _func_object_from_lists(self, keys: list[Any], items: list[Any]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for index, key in enumerate(keys):
            text = _key_text(key)
            if text is None:
                raise argument_type_error("object_from_lists", 1, "StringArray")
            result[text] = items[index] if index < len(items) else None
        return result

    @signature(OBJECT, OBJECT)
    def _func_label_match(self, labels: dict[str, Any], candidates: dict[str, Any]) -> bool:
        return all(
            key in candidates and values.strict_equal(candidates[key], value)
            for key, value in labels.items()
        )
