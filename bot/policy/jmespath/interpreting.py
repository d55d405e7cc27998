"""Evaluation with the rules of Kyverno's go-jmespath fork.

The fork (github.com/kyverno/go-jmespath) changes the standard interpreter in
ways policies notice, and this subclass of the library's `TreeInterpreter`
applies them:

- With `missing_key_errors`, a field looked up on an object that lacks the
  key fails the whole path (`Unknown key "labels" in path`). The failure is
  forgiven, and the value taken as null, inside comparisons, function
  arguments, `||`, the left of `&&`, `!`, pipes, projections, filters and
  multi-selects, which is why `a.b || 'default'` works in Kyverno.
- A filter, flatten or `*` projection whose input fails yields null,
  whatever the error was.
- `<`, `<=`, `>`, `>=` compare numbers only; anything else gives null (the
  Python library also orders strings).
- `==` and `!=` use Go's deep equality: `1 == 1.0`, but `true != 1` even
  inside arrays.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jmespath import exceptions as jp_exceptions, visitor

from bot.policy.jmespath import values
from bot.policy.jmespath.errors import FunctionError

Node = dict[str, Any]

_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


class MissingKey(Exception):
    """A path walked into a key the object lacks (strict mode only)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_SWALLOWED = (MissingKey, FunctionError, jp_exceptions.JMESPathError)


class KyvernoInterpreter(visitor.TreeInterpreter):  # type: ignore[misc]  # untyped library
    def __init__(self, options: visitor.Options, *, missing_key_errors: bool) -> None:
        super().__init__(options)
        self._missing_key_errors = missing_key_errors

    def _lenient(self, node: Node, value: Any) -> Any:
        """Evaluate, reading a missing key as null (the fork's NotFoundError)."""
        try:
            return self.visit(node, value)
        except MissingKey:
            return None

    def _forgiving(self, node: Node, value: Any) -> Any:
        """Evaluate, reading any failure as null (filters, flatten, `*`)."""
        try:
            return self.visit(node, value)
        except _SWALLOWED:
            return None

    def visit_field(self, node: Node, value: Any) -> Any:
        if isinstance(value, dict):
            key = node["value"]
            if key in value:
                return value[key]
            if self._missing_key_errors:
                raise MissingKey(key)
        return None

    def visit_comparator(self, node: Node, value: Any) -> Any:
        left = self._lenient(node["children"][0], value)
        right = self._lenient(node["children"][1], value)
        kind = node["value"]
        if kind == "eq":
            return values.strict_equal(left, right)
        if kind == "ne":
            return not values.strict_equal(left, right)
        if not (values.is_number(left) and values.is_number(right)):
            return None
        return _ORDERINGS[kind](left, right)

    def visit_function_expression(self, node: Node, value: Any) -> Any:
        arguments = [self._lenient(child, value) for child in node["children"]]
        return self._functions.call_function(node["value"], arguments)

    def visit_filter_projection(self, node: Node, value: Any) -> Any:
        base = self._forgiving(node["children"][0], value)
        if not isinstance(base, list):
            return None
        condition, projected = node["children"][2], node["children"][1]
        collected = []
        for element in base:
            if self._is_true(self._lenient(condition, element)):
                current = self._lenient(projected, element)
                if current is not None:
                    collected.append(current)
        return collected

    def visit_flatten(self, node: Node, value: Any) -> Any:
        base = self._forgiving(node["children"][0], value)
        if not isinstance(base, list):
            return None
        flattened: list[Any] = []
        for element in base:
            if isinstance(element, list):
                flattened.extend(element)
            else:
                flattened.append(element)
        return flattened

    def visit_multi_select_dict(self, node: Node, value: Any) -> Any:
        if value is None:
            return None
        return {child["value"]: self._lenient(child, value) for child in node["children"]}

    def visit_multi_select_list(self, node: Node, value: Any) -> Any:
        if value is None:
            return None
        return [self._lenient(child, value) for child in node["children"]]

    def visit_or_expression(self, node: Node, value: Any) -> Any:
        matched = self._lenient(node["children"][0], value)
        if self._is_false(matched):
            matched = self._lenient(node["children"][1], value)
        return matched

    def visit_and_expression(self, node: Node, value: Any) -> Any:
        matched = self._lenient(node["children"][0], value)
        if self._is_false(matched):
            return matched
        return self.visit(node["children"][1], value)

    def visit_not_expression(self, node: Node, value: Any) -> Any:
        return self._is_false(self._lenient(node["children"][0], value))

    def visit_pipe(self, node: Node, value: Any) -> Any:
        result = value
        for child in node["children"]:
            result = self._lenient(child, result)
        return result

    def visit_projection(self, node: Node, value: Any) -> Any:
        base = self._lenient(node["children"][0], value)
        if not isinstance(base, list):
            return None
        collected = []
        for element in base:
            current = self._lenient(node["children"][1], element)
            if current is not None:
                collected.append(current)
        return collected

    def visit_value_projection(self, node: Node, value: Any) -> Any:
        base = self._forgiving(node["children"][0], value)
        if not isinstance(base, dict):
            return None
        collected = []
        for element in base.values():
            current = self._lenient(node["children"][1], element)
            if current is not None:
                collected.append(current)
        return collected

    def _is_false(self, value: Any) -> bool:
        # Go's isFalse: only null, false and empty strings, arrays and objects.
        return (
            value is None
            or value is False
            or (isinstance(value, str | list | dict) and len(value) == 0)
        )

    def _is_true(self, value: Any) -> bool:
        return not self._is_false(value)
