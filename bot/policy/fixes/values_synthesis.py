"""Choosing one value that satisfies one pattern value.

This is the leaf of fix synthesis, the inverse of `values.value_matches`:
given `">=1"`, `"RuntimeDefault | Localhost"` or `"*:*"` (and the value the
resource holds now, if any), propose a value that makes the match succeed.
Exact values come first; when only the team can know the right answer (a
label value, an image version) the value holds a placeholder such as
`<pin a version>`, which makes the fix "guided".

Every candidate is checked with `values.value_matches` before it is offered,
so this module may guess freely: a wrong guess is dropped, never returned.
A placeholder candidate is checked with its placeholders filled in by a
neutral text, since the placeholder itself need not match (`"?"` wants one
character, `<pin a version>` has fifteen).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from bot.policy import values
from bot.policy.fixes.patches import pointer, value_at


class _Missing(enum.Enum):
    MISSING = "missing"


MISSING = _Missing.MISSING
"""Stands for an absent field, which differs from a field set to null."""

PLACEHOLDER = re.compile(r"<[a-z][^<>]*>")
"""How a placeholder looks inside a value: words in angle brackets."""

SET_A_VALUE = "<set a value>"
SET_A_NAME = "<set a name>"
PIN_A_VERSION = "<pin a version>"
PIN_A_DIGEST = "<pin a digest>"

FILLERS = ("1", "x")
"""Neutral texts that stand in for a placeholder when a fix is checked."""

_Candidate = tuple[Any, bool]
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]*\.[0-9]+")
_NUMBER_WITH_UNIT = re.compile(r"([+-]?[0-9]+(?:\.[0-9]+)?)([A-Za-z]*)")
_RANGE_END = r"[-|+]?[0-9]+(?:\.[0-9]+)?[A-Za-z]*"
_RANGE = re.compile(f"({_RANGE_END})(!?-)({_RANGE_END})")
"""A range as Kyverno spells it, `1-10` or `1Gi!-4Gi`, ends maybe signed."""
_NON_LABEL = re.compile(r"[^a-z0-9-]+")
_CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})


@dataclass(frozen=True)
class Derived:
    """A value read off the resource itself, and where it came from."""

    value: Any
    note: str


def satisfying_value(
    pattern_value: Any, current: Any = MISSING, *, field: str = "", as_text: bool = False
) -> tuple[Any, bool] | None:
    """Propose a value for a field so that it matches one pattern value.

    Args:
        pattern_value: A scalar from a validate pattern: a bool, a number,
            null, or a string in Kyverno's value language.
        current: What the field holds now, or MISSING when it is absent.
            A current value that already matches is returned unchanged;
            otherwise it steers the choice (its type is kept, an image keeps
            its name).
        field: The field name, so that images get image-shaped proposals.
        as_text: The field only takes strings (labels, annotations), so
            `"true"` stays a string instead of becoming a boolean.

    Returns:
        The value and whether it holds a placeholder the user must fill in,
        or None when the pattern value is not a scalar.
    """
    if current is not MISSING and values.value_matches(current, pattern_value):
        return current, False
    if isinstance(pattern_value, bool):
        return pattern_value, False
    if isinstance(pattern_value, int | float):
        return (str(pattern_value) if as_text else pattern_value), False
    if pattern_value is None:
        return _zero_like(current), False
    if isinstance(pattern_value, str):
        return _from_text(pattern_value, current, field=field, as_text=as_text)
    return None


def has_placeholder(value: Any) -> bool:
    if isinstance(value, str):
        return PLACEHOLDER.search(value) is not None
    if isinstance(value, Mapping):
        return any(has_placeholder(k) or has_placeholder(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_placeholder(item) for item in value)
    return False


def placeholder_pointers(value: Any, at: str) -> list[str]:
    """RFC 6901 pointers to every placeholder in a value that goes at `at`.

    A map key holding a placeholder (a label name to choose) counts as well
    as the texts below it.
    """
    if isinstance(value, str):
        return [at] if has_placeholder(value) else []
    if isinstance(value, Mapping):
        found: list[str] = []
        for key, inner in value.items():
            inner_at = at + pointer(str(key))
            if has_placeholder(str(key)):
                found.append(inner_at)
            found += placeholder_pointers(inner, inner_at)
        return found
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in placeholder_pointers(item, f"{at}/{i}")]
    return []


def fill_placeholders(value: Any, filler: str) -> Any:
    """A copy of a value with every placeholder replaced, keys included."""
    if isinstance(value, str):
        return PLACEHOLDER.sub(filler, value)
    if isinstance(value, Mapping):
        return {
            fill_placeholders(k, filler): fill_placeholders(v, filler) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [fill_placeholders(item, filler) for item in value]
    return value


def wildcard_template(text: str, placeholder: str = SET_A_VALUE) -> str:
    """Turn each run of wildcards into a placeholder: `safe-*`, `safe-<...>`."""
    return re.sub(r"[*?]+", placeholder, text)


def _from_text(pattern: str, current: Any, *, field: str, as_text: bool) -> tuple[Any, bool]:
    # Exact proposals win over guided ones; within each group the order of
    # the pattern's alternatives decides, so `a | b` proposes `a`.
    candidates = list(_candidates(pattern, current, field=field, as_text=as_text))
    for value, guided in candidates:
        if not guided and values.value_matches(value, pattern):
            return value, False
    for value, guided in candidates:
        if guided and any(
            values.value_matches(fill_placeholders(value, filler), pattern) for filler in FILLERS
        ):
            return value, True
    # Nothing checks out; the first guided proposal still says what is wanted.
    return next(value for value, guided in candidates if guided), True


def _candidates(pattern: str, current: Any, *, field: str, as_text: bool) -> Iterator[_Candidate]:
    options = [option.strip(" ") for option in pattern.split("|")]
    terms = [term.strip(" ") for option in options for term in option.split("&")]
    if field == "image":
        yield from _image_candidates(terms, current)
    for term in terms:
        yield from _term_candidates(term, current, as_text=as_text)
    yield SET_A_VALUE, True


def _term_candidates(term: str, current: Any, *, as_text: bool) -> Iterator[_Candidate]:
    operator = values.operator_of(term)
    if operator in ("-", "!-"):
        yield from _range_candidates(term, current, as_text=as_text)
        return
    operand = values.trim_space(term[len(operator) :])
    if operator in (">=", "<="):
        yield _typed(operand, current, as_text=as_text)
    elif operator in (">", "<"):
        stepped = _step(operand, 1 if operator == ">" else -1)
        if stepped is not None:
            yield _typed(stepped, current, as_text=as_text)
        yield f"<set a value {'above' if operator == '>' else 'below'} {_quoted(operand)}>", True
    elif operator == "!":
        if operand in ("true", "false"):
            yield _typed("false" if operand == "true" else "true", current, as_text=as_text)
        yield f"<set a value other than {_quoted(operand)}>", True
    elif values.contains_wildcard(operand):
        yield wildcard_template(operand), True
    else:
        yield _typed(operand, current, as_text=as_text)


def _range_candidates(term: str, current: Any, *, as_text: bool) -> Iterator[_Candidate]:
    found = _RANGE.fullmatch(term)
    if found is None:
        return
    low, operator, high = found.group(1), found.group(2), found.group(3)
    if operator == "-":
        # The bound nearest the current value moves it the least.
        if current is not MISSING and values.value_matches(current, f"> {high}"):
            yield _typed(high, current, as_text=as_text)
        yield _typed(low, current, as_text=as_text)
        return
    below, above = _step(low, -1), _step(high, 1)
    for bound in (below, above) if below and not below.startswith("-") else (above, below):
        if bound is not None:
            yield _typed(bound, current, as_text=as_text)


def _image_candidates(terms: list[str], current: Any) -> Iterator[_Candidate]:
    """Proposals shaped like image references, built from the current image.

    A registry rule (`registry.corp/*`) moves the image under the allowed
    prefix, keeping its path and tag; a tag or digest rule keeps the name
    and asks for the version.
    """
    if not isinstance(current, str) or not current:
        return
    prefixes = [_literal_prefix(term) for term in terms if not term.startswith("!")]
    moved = [prefix + _without_registry(current) for prefix in prefixes if prefix.endswith("/")]
    # A reference without a name after the last slash names no image at all.
    bases = [base for base in moved if not _split_image(base)[0].endswith("/")]
    for base in bases:
        yield base, False
    for base in [current, *bases]:
        name, tag = _split_image(base)
        yield f"{name}:{PIN_A_VERSION}", True
        yield f"{name}{':' + tag if tag else ''}@sha256:{PIN_A_DIGEST}", True


def _literal_prefix(term: str) -> str:
    """The text before a term's first wildcard; empty when it has none."""
    found = re.search(r"[*?]", term)
    return term[: found.start()] if found else ""


def _split_image(reference: str) -> tuple[str, str]:
    """Name and tag of an image reference; any digest is dropped."""
    name = reference.split("@", 1)[0]
    colon = name.rfind(":")
    if colon > name.rfind("/"):
        return name[:colon], name[colon + 1 :]
    return name, ""


def _without_registry(reference: str) -> str:
    first, slash, rest = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return rest
    return reference


def image_short_name(reference: str) -> str:
    """A DNS label from an image's last path element, e.g. `nginx`."""
    name, _ = _split_image(reference)
    label = _NON_LABEL.sub("-", name.rsplit("/", 1)[-1].lower()).strip("-")
    return label[:63].rstrip("-")


def _step(operand: str, direction: int) -> str | None:
    """The nearest whole number strictly beyond a bound, keeping its unit."""
    found = _NUMBER_WITH_UNIT.fullmatch(operand)
    if found is None:
        return None
    number = Decimal(found.group(1))
    rounding = ROUND_FLOOR if direction > 0 else ROUND_CEILING
    whole = number.to_integral_value(rounding=rounding) + direction
    return f"{whole}{found.group(2)}"


def _typed(text: str, current: Any, *, as_text: bool) -> _Candidate:
    """Give a proposal the type Kubernetes expects; text stays text."""
    if as_text or isinstance(current, str):
        return text, False
    if text in ("true", "false"):
        return text == "true", False
    if _INTEGER.fullmatch(text):
        return int(text), False
    if _DECIMAL.fullmatch(text):
        return float(text), False
    return text, False


def _zero_like(current: Any) -> Any:
    if isinstance(current, bool):
        return False
    if isinstance(current, int | float):
        return type(current)(0)
    if isinstance(current, str):
        return ""
    return None


def _quoted(text: str) -> str:
    """Pattern text made safe to sit inside a placeholder's angle brackets."""
    return text.replace("<", "less than ").replace(">", "more than ")


def derive(document: Any, at: Sequence[str | int]) -> Derived | None:
    """A value for an empty field that the resource itself suggests.

    A port is named after its number and protocol, and a container after
    its image. A missing request takes its limit, which is what Kubernetes
    would default it to anyway; a missing limit takes its request, the one
    amount the team has already committed to. These are real answers, not
    placeholders, so they keep a fix exact; the note says where they came
    from.
    """
    if not at:
        return None
    field, parent = at[-1], value_at(document, at[:-1])
    if field == "name" and isinstance(parent, Mapping):
        port = parent.get("containerPort")
        if isinstance(port, int) and not isinstance(port, bool):
            protocol = str(parent.get("protocol") or "TCP").lower()
            return Derived(f"{protocol}-{port}", "named after the port")
        image = parent.get("image")
        if isinstance(image, str) and len(at) >= 3 and at[-3] in _CONTAINER_LISTS:
            return _container_name(document, at, image=image)
    if len(at) >= 3 and at[-3] == "resources" and at[-2] in ("limits", "requests"):
        other = "requests" if at[-2] == "limits" else "limits"
        found = value_at(document, (*at[:-2], other, field))
        # An empty counterpart is no amount the team committed to.
        if isinstance(found, str | int | float) and not isinstance(found, bool) and found != "":
            return Derived(found, f"same as the {other[:-1]}")
    return None


def _container_name(document: Any, at: Sequence[str | int], *, image: str) -> Derived | None:
    name = image_short_name(image)
    if not name:
        return None
    siblings = value_at(document, at[:-2])
    taken = {
        item.get("name")
        for item in (siblings if isinstance(siblings, list) else [])
        if isinstance(item, Mapping)
    }
    if name in taken:
        name = f"{name[:58]}-{at[-2]}"
    return Derived(name, "named after the image")
