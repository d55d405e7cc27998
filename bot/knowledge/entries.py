"""The schema of the knowledge base: what one explanation of a rule must say.

An explanation is written once, by people, and read every time a team hits
the rule, so the schema is strict on purpose: an unknown field is a typo, an
empty string is a forgotten sentence, a fix snippet must be valid YAML and a
reference must be an https URL. Loading files and looking entries up is the
job of `bot.knowledge.catalog`; this module only says what a valid entry is.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Self
from urllib.parse import urlsplit

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
"""Prose that must say something: surrounding blanks are dropped, then it may not be empty."""

Key = Annotated[str, StringConstraints(min_length=1, pattern=r"^\S+$")]
"""A policy or rule name as the engine reports it: no blanks at all."""

Duration = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]*[hdw]$")]
"""A whole number of hours, days or weeks, such as "12h", "7d" or "2w"."""

_DURATION_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def _check_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or re.search(r"\s", value):
        raise ValueError(f"must be an https:// URL with a host, got {value!r}")
    return value


def _check_yaml(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    try:
        yaml.safe_load(value)
    except yaml.YAMLError as error:
        # NB: the snippet is shown to people as the fix; one that does not
        # parse would be copied into a manifest and fail there instead.
        raise ValueError(f"must be valid YAML: {error}") from None
    return value


Url = Annotated[str, AfterValidator(_check_url)]
"""An https URL, kept exactly as written so links render as the author meant."""

YamlSnippet = Annotated[str, AfterValidator(_check_yaml)]
"""A fragment of a manifest, kept verbatim (indentation matters)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Reference(_Strict):
    """A page to read for the background of a rule."""

    title: Text
    """The page's title, as the link text."""

    url: Url
    """Where the page lives; the upstream Kubernetes or Kyverno docs for bundled entries."""


class Fix(_Strict):
    """What the team changes in its manifest to comply."""

    summary: Text
    """The change in a sentence or two, naming the fields to set or remove."""

    snippet: YamlSnippet
    """The corrected part of the manifest, ready to copy."""


class ExceptionGuidance(_Strict):
    """Whether a team may ask to be let off the rule, for how long and from whom."""

    allowed: bool = Field(strict=True)
    """Whether an exception can be granted at all."""

    max_duration: Duration | None = None
    """The longest time one exception may last, such as "7d"; only when allowed."""

    approvers: Text | None = None
    """Who decides on a request, such as a team or channel; required when allowed."""

    notes: Text | None = None
    """Conditions attached to an exception, or what to do instead when there is none."""

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.allowed and (self.max_duration is None or self.approvers is None):
            raise ValueError("an allowed exception needs both max_duration and approvers")
        if not self.allowed and self.max_duration is not None:
            raise ValueError("max_duration makes no sense when exceptions are not allowed")
        return self

    @property
    def max_timedelta(self) -> timedelta | None:
        """The longest duration as a timedelta, for computing an expiry date."""
        if self.max_duration is None:
            return None
        return int(self.max_duration[:-1]) * _DURATION_UNITS[self.max_duration[-1]]


class Explanation(_Strict):
    """Everything a team needs once a rule has rejected its workload."""

    policy: Key
    """The policy's name, as in its metadata.name."""

    rule: Key | None = None
    """The rule's name within the policy; left out for an entry covering every rule."""

    title: Text
    """A short headline, phrased as the requirement."""

    why: Text
    """Why the rule exists: the concrete risk it removes, in two to four sentences."""

    fix: Fix
    """How to comply."""

    references: list[Reference] = Field(min_length=1)
    """Further reading, best first."""

    exception: ExceptionGuidance
    """Whether and how the team can be let off the rule."""


class ExplanationsFile(_Strict):
    """One YAML file of the knowledge base."""

    entries: list[Explanation] = Field(min_length=1)
    """The explanations this file contributes."""
