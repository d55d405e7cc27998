"""Who owns a rejected workload, and where to tell them.

The team registry is one YAML file that platform people keep: each team's
name, Slack channel, on-call user group and approvers (the people who may
grant a policy exception), plus a default team for whatever nobody claims:

    default_team: platform
    lookup:                     # optional; these are the defaults
      namespace_keys: [policybot.io/team, team]
      workload_keys: [policybot.io/team, team, app.kubernetes.io/part-of]
    teams:
      - name: payments
        channel: "#payments-alerts"
        oncall: "@payments-oncall"
        approvers: ["@alice", "U024BE7LH"]
        aliases: [checkout]     # other label values that mean this team

Ownership is read from the namespace first (its labels, then its
annotations), then from the workload's labels and its Pod template's labels,
each time trying the configured keys in order; a value that names no team
(or alias) is skipped. The default team gets the rest. Namespaces carry
ownership in most clusters and workloads inherit it, which is why they go
first. The registry is pure data: reading the Namespace and the workload
from the cluster is `bot.kube`'s job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Self

import pydantic
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from bot import errors
from bot.errors import InputError

logger = logging.getLogger(__name__)


def _matching(pattern: str, what: str) -> AfterValidator:
    """A check that says what the value must be, and what it got."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {what}, got {value!r}")
        return value

    return AfterValidator(check)


TeamName = Annotated[
    str,
    _matching(r"[a-z0-9]([a-z0-9._-]*[a-z0-9])?", "lower-case letters, digits and .-_"),
]
"""A name as Kubernetes label values spell it."""

Channel = Annotated[
    str,
    _matching(
        r"#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,}",
        'a channel name with its "#" ("#payments-alerts") or a channel ID ("C024BE91L")',
    ),
]
"""Where to post: a channel name or ID."""

UserGroup = Annotated[
    str,
    _matching(
        r"@[a-z0-9][a-z0-9._-]*|S[A-Z0-9]{8,}",
        'a user group handle with its "@" ("@payments-oncall") or its ID ("S0614TZR7")',
    ),
]
"""Whom to page: a user group handle or ID."""

User = Annotated[
    str,
    _matching(
        r"@[a-z0-9][a-z0-9._-]*|[UW][A-Z0-9]{8,}",
        'a user handle with its "@" ("@alice") or a user ID ("U024BE7LH")',
    ),
]
"""One person: a user handle or ID."""

LabelKey = Annotated[
    str,
    _matching(
        r"([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([\w.-]*[A-Za-z0-9])?",
        'a label key such as "team" or "policybot.io/team"',
    ),
]
"""A label or annotation key, with or without a prefix."""


class Team(BaseModel):
    """One team, as the registry file describes it."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    name: TeamName
    """The name that labels and annotations use to point at this team."""

    channel: Channel
    """Where rejections of this team's workloads are posted."""

    oncall: UserGroup | None = None
    """The Slack user group to mention when a rejection blocks a rollout."""

    approvers: tuple[User, ...] = ()
    """People who may approve a policy exception for this team."""

    aliases: tuple[TeamName, ...] = ()
    """Other label values that mean this team, e.g. an `app.kubernetes.io/part-of` value."""


class Lookup(BaseModel):
    """Which label and annotation keys name the owning team."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    namespace_keys: tuple[LabelKey, ...] = ("policybot.io/team", "team")
    """Keys read on the Namespace, labels first, then annotations."""

    workload_keys: tuple[LabelKey, ...] = ("policybot.io/team", "team", "app.kubernetes.io/part-of")
    """Keys read on the workload's labels, then on its Pod template's labels."""


class RegistryFile(BaseModel):
    """The whole registry file."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    teams: tuple[Team, ...] = Field(min_length=1)
    """Every team the bot may notify."""

    default_team: TeamName
    """The team that gets rejections nobody else owns."""

    lookup: Lookup = Lookup()
    """Where ownership is read from."""

    @model_validator(mode="after")
    def _names_are_unique_and_known(self) -> Self:
        # NB: a name or alias claimed twice would make ownership depend on file
        # order, so it is an error that names both teams.
        claimed: dict[str, str] = {}
        for team in self.teams:
            for value in (team.name, *team.aliases):
                if value in claimed:
                    raise ValueError(
                        f"{value!r} is claimed by both team {claimed[value]!r} "
                        f"and team {team.name!r}; keep it on one of them"
                    )
                claimed[value] = team.name
        if self.default_team not in {team.name for team in self.teams}:
            raise ValueError(
                f"default_team must be the name of a listed team, got {self.default_team!r}"
            )
        return self


class TeamsError(InputError):
    """The registry file is missing, not YAML, or does not fit the schema.

    One line per problem, each reading `file: field: problem`.
    """


@dataclass(frozen=True)
class Ownership:
    """The owning team, and the evidence for it."""

    team: Team
    reason: str
    """How we know, for logs and messages: `namespace shop label team=payments`."""


class Registry:
    """The teams, and who owns what."""

    def __init__(self, data: RegistryFile) -> None:
        self.lookup = data.lookup
        self._teams = {team.name: team for team in data.teams}
        self._by_value = {
            value: team for team in data.teams for value in (team.name, *team.aliases)
        }
        self.default = self._teams[data.default_team]

    @classmethod
    def load(cls, path: Path) -> Registry:
        """Read and check a registry file.

        Raises:
            TeamsError: naming the file and, where there is one, the field.
        """
        source = str(path)
        try:
            data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise TeamsError(f"cannot read: {error.strerror or error}", source=source) from None
        except yaml.YAMLError as error:
            raise TeamsError(errors.describe_yaml_error(error), source=source) from None
        return cls.from_data(data, source=source)

    @classmethod
    def from_data(cls, data: Any, *, source: str = "teams") -> Registry:
        try:
            return cls(RegistryFile.model_validate(data))
        except pydantic.ValidationError as error:
            problems = error.errors(include_url=False, include_context=False)
            raise errors.schema_error(TeamsError, problems, source=source) from None

    def __iter__(self) -> Iterator[Team]:
        return iter(self._teams.values())

    def get(self, name: str) -> Team | None:
        """The team with this name or alias."""
        return self._by_value.get(name)

    def find_owner(
        self,
        *,
        namespace: Mapping[str, Any] | None = None,
        workload: Mapping[str, Any] | None = None,
    ) -> Ownership:
        """The team owning a workload; see the module docstring for the order.

        Args:
            namespace: the Namespace object (or just its metadata's container).
            workload: the workload manifest, e.g. from `bot.intake.resolving`.
        """
        for where, mapping in _places(namespace, workload):
            keys = (
                self.lookup.namespace_keys
                if where.startswith("namespace")
                else (self.lookup.workload_keys)
            )
            for key in keys:
                value = mapping.get(key)
                if not isinstance(value, str) or not value:
                    continue
                team = self.get(value.strip())
                if team is not None:
                    return Ownership(team, f"{where} {key}={value}")
                logger.debug(
                    "The %s %s=%s names no known team; looking further.", where, key, value
                )
        return Ownership(self.default, "default team")


def _places(
    namespace: Mapping[str, Any] | None, workload: Mapping[str, Any] | None
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The maps that may name the owner, in the order they are trusted."""
    if namespace is not None:
        metadata = namespace.get("metadata") or {}
        name = metadata.get("name", "")
        yield f"namespace {name} label", metadata.get("labels") or {}
        yield f"namespace {name} annotation", metadata.get("annotations") or {}
    if workload is not None:
        metadata = workload.get("metadata") or {}
        what = f"{workload.get('kind', 'workload')} {metadata.get('name', '')}"
        yield f"{what} label", metadata.get("labels") or {}
        template = ((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}
        yield f"{what} template label", template.get("labels") or {}
