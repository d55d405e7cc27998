"""Kyverno's regex and wildcard functions.

regex_match, regex_replace_all and regex_replace_all_literal take Go
regular expressions (see `regexes` for how they run on Python's engine);
pattern_match takes Kyverno's `*` / `?` wildcards. Each accepts a number
where it accepts a string and, like Kyverno, prints it as a float32 first,
so `regex_match('^[1-7]$', `1`)` is true.
"""

from __future__ import annotations

import re
from typing import Any

from bot.policy import wildcards
from bot.policy.jmespath import regexes, values
from bot.policy.jmespath.errors import FunctionError, argument_type_error
from bot.policy.jmespath.signatures import STRING, STRING_OR_NUMBER, signature


def to_text(value: Any, function: str, position: int) -> str:
    """Kyverno's `ifaceToString` for a string-or-number argument."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if values.is_number(value):
        return values.go_float32_text(value)
    raise argument_type_error(function, position, "String or Real")


def _compile(pattern: str, function: str) -> re.Pattern[str]:
    try:
        return regexes.compile_go(pattern)
    except re.error as error:
        raise FunctionError(function, f"error parsing regexp: {error}: `{pattern}`") from None


class RegexFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(STRING, STRING_OR_NUMBER)
    def _func_regex_match(self, pattern: str, value: Any) -> bool:
        text = to_text(value, "regex_match", 2)
        return _compile(pattern, "regex_match").search(text) is not None

    @signature(STRING, STRING_OR_NUMBER, STRING_OR_NUMBER)
    def _func_regex_replace_all(self, pattern: str, value: Any, replacement: Any) -> str:
        text = to_text(value, "regex_replace_all", 2)
        template = to_text(replacement, "regex_replace_all", 3)
        compiled = _compile(pattern, "regex_replace_all")
        return regexes.replace_all(
            compiled, text, lambda match: regexes.expand_template(template, match)
        )

    @signature(STRING, STRING_OR_NUMBER, STRING_OR_NUMBER)
    def _func_regex_replace_all_literal(self, pattern: str, value: Any, replacement: Any) -> str:
        text = to_text(value, "regex_replace_all_literal", 2)
        literal = to_text(replacement, "regex_replace_all_literal", 3)
        compiled = _compile(pattern, "regex_replace_all_literal")
        return regexes.replace_all(compiled, text, lambda _match: literal)

    @signature(STRING, STRING_OR_NUMBER)
    def _func_pattern_match(self, pattern: str, value: Any) -> bool:
        return wildcards.wildcard_match(pattern, to_text(value, "pattern_match", 2))
