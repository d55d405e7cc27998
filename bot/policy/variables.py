"""Kyverno's `{{ ... }}` variables: finding them and substituting them.

Substitution walks a rule fragment (pattern, message, conditions) and
replaces each variable with the value its JMESPath expression yields in the
evaluation context. It follows Kyverno's rules closely because policies
depend on the details: a string that is exactly one variable takes the
value's own type, a variable inside a longer string is rendered as JSON,
`\\{{` escapes a literal brace pair, `{{- x}}` substitutes once without
re-scanning the result, and `@` stands for the field being validated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

# NB: the same expression Kyverno uses: a variable at the start of the string,
# or one preceded by any character but a backslash (which escapes it).
VARIABLE = re.compile(r"(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})")
VARIABLE_AT_START = re.compile(r"^\{\{(\{[^{}]*\}|[^{}])*\}\}")

Resolver = Callable[[str], Any]
"""Evaluates one variable's expression; raises to signal it cannot."""


class SubstitutionError(Exception):
    """A variable could not be resolved; the message says which and where."""

    def __init__(self, variable: str, path: str, reason: str) -> None:
        self.variable = variable
        self.path = path
        self.reason = reason
        where = f" at path {path}" if path else ""
        super().__init__(f"failed to resolve {variable}{where}: {reason}")


def has_variables(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" in value
    if isinstance(value, Mapping):
        return any(has_variables(k) or has_variables(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_variables(item) for item in value)
    return False


def substitute(
    document: Any,
    resolve: Resolver,
    *,
    path: Sequence[str | int] = (),
    deleting: bool = False,
) -> Any:
    """A copy of `document` with every variable in keys and values replaced.

    `path` is where the document sits inside the rule; it gives `@` its
    meaning. On DELETE requests `request.object` reads the old object, as
    Kyverno arranges.
    """
    if not has_variables(document):
        return document
    if isinstance(document, Mapping):
        result: dict[Any, Any] = {}
        for key, value in document.items():
            new_key = key
            if isinstance(key, str) and "{{" in key:
                new_key = _substitute_string(key, resolve, [*path, key], deleting)
                if not isinstance(new_key, str):
                    new_key = _render(new_key)
            result[new_key] = substitute(value, resolve, path=[*path, key], deleting=deleting)
        return result
    if isinstance(document, list):
        return [
            substitute(item, resolve, path=[*path, index], deleting=deleting)
            for index, item in enumerate(document)
        ]
    if isinstance(document, str):
        return _substitute_string(document, resolve, list(path), deleting)
    return document


MAX_ROUNDS = 32
"""Substituted text is scanned again for variables; a value that names
itself would loop forever, so nesting deeper than this is an error."""


def _substitute_string(value: str, resolve: Resolver, path: list[str | int], deleting: bool) -> Any:
    found = _variables_in(value)
    rounds = 0
    while found:
        rounds += 1
        if rounds > MAX_ROUNDS:
            raise SubstitutionError(
                found[0][1], _pointer(path), f"variables still unresolved after {MAX_ROUNDS} rounds"
            )
        original = value
        shallow = False
        for prefix, variable_text in found:
            expression, shallow = _expression_of(variable_text)
            if expression == "@":
                expression = _current_field(path)
            if deleting:
                expression = expression.replace("request.object", "request.oldObject")
            try:
                resolved = resolve(expression)
            except Exception as error:  # the resolver's own errors carry the reason
                raise SubstitutionError(expression, _pointer(path), str(error)) from error
            # A string that is nothing but one variable takes the value's type.
            if original == variable_text:
                return resolved
            if shallow and isinstance(resolved, str):
                resolved = resolved.replace("{{", "\\{{")
            replacement = resolved if isinstance(resolved, str) else _render(resolved)
            value = value.replace(prefix + variable_text, prefix + replacement, 1)
        found = [] if shallow else _variables_in(value)
    return value.replace("\\{{", "{{")


def _variables_in(value: str) -> list[tuple[str, str]]:
    """(prefix character, variable text) for each unescaped variable."""
    return [(match.group(1), match.group(2)) for match in VARIABLE.finditer(value)]


def _expression_of(variable_text: str) -> tuple[str, bool]:
    inner = variable_text.replace("{{", "").replace("}}", "").strip()
    if inner.startswith("-"):
        return inner[1:].strip(), True
    return inner, False


def _current_field(path: list[str | int]) -> str:
    """`@`: the JMESPath of the field the variable sits in, in the request object.

    Kyverno skips past the foreach (and its index and block name) or the
    validate block name, and reads the rest as a path in request.object.
    """
    segments = [str(s) for s in path]
    if "foreach" in segments:
        segments = segments[segments.index("foreach") + 3 :]
    else:
        segments = segments[2:]
    expression = "request.object"
    for segment in segments:
        if segment.isdigit():
            expression += f"[{segment}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", segment):
            expression += f".{segment}"
        else:
            expression += "." + json.dumps(segment)
    return expression


def _render(value: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, map keys sorted."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _pointer(path: Sequence[str | int]) -> str:
    return "/" + "/".join(str(segment) for segment in path) if path else ""
