"""The project's exception tree, grouped by what the caller does next.

    PolicybotError
     +-- PermanentError       retrying cannot help: fix the input first
     |    +-- InputError      a file, document or field a user gave us is unusable
     +-- TemporaryError       retry later (rate limits, 5xx, lost connections)

Every message names what was wrong, where, and what to do about it, so the
CLI can print it as is and exit, and the bot can relay it to a person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


class PolicybotError(Exception):
    """Base of every error the project raises on purpose."""


class PermanentError(PolicybotError):
    """The same call will fail again until its input changes."""


class TemporaryError(PolicybotError):
    """The call may succeed later; `retry_after` is a hint in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InputError(PermanentError):
    """Unusable user input, located as precisely as we can.

    The location reads like `policies/a.yaml: document 2: spec.rules[0].match`,
    so a person can jump straight to the offending field.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str = "",
        document: int | None = None,
        field: str = "",
        more: Sequence[str] = (),
    ) -> None:
        self.problem = problem
        self.source = source
        self.document = document
        self.field = field
        self.more = tuple(more)
        """Further problems found in the same input, one full line each."""
        super().__init__(self.describe())

    def describe(self) -> str:
        parts = []
        if self.source:
            parts.append(self.source)
        if self.document is not None:
            parts.append(f"document {self.document}")
        if self.field:
            parts.append(self.field)
        parts.append(self.problem)
        return "\n".join([": ".join(parts), *self.more])


def schema_error(
    kind: type[InputError], problems: Sequence[Mapping[str, Any]], *, source: str
) -> InputError:
    """One error for every problem a schema validation found (pydantic's `errors()`).

    The first problem is the error's own field and text; the others follow as
    `source: field: problem` lines, so an author can fix them all in one go.
    """
    first, *rest = problems
    return kind(
        str(first["msg"]),
        source=source,
        field=field_path(tuple(first["loc"])),
        more=[f"{source}: {field_path(tuple(p['loc']))}: {p['msg']}" for p in rest],
    )


def field_path(location: tuple[int | str, ...]) -> str:
    """A validation error's location as people write it: `teams[2].channel`."""
    rendered = ""
    for part in location:
        if isinstance(part, int):
            rendered += f"[{part}]"
        else:
            rendered += f".{part}" if rendered else part
    return rendered or "(top level)"


def describe_yaml_error(error: Exception) -> str:
    """A YAML parser error as one line with its position, without the parser's dump."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    if mark is None:
        return f"not valid YAML: {problem}"
    return f"line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"
