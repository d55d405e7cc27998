"""The bot's one configuration file, checked in full before anything starts.

`policybot run --config FILE` reads a YAML file (see `docs/configuration.md`
for every key, and `docs/examples/policybot.yaml` for a sample) into the
frozen models below. Every problem is reported at once, one line each, as
`FILE: key.path: what it must be, got what`, so an operator fixes the file in
one pass instead of one restart per typo.

Secrets never live in the file: the Slack tokens, the signing secret and the
audit webhook's bearer token come from the environment (`read_secrets`), so
the file can sit in a ConfigMap and in git. A missing variable is named in
the error, together with the setting that needs it.

Relative paths in the file are relative to the file itself, so a config and
its team registry can travel together.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import pydantic
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PrivateAttr,
    model_validator,
)

from bot import errors
from bot.errors import InputError
from bot.intake import teams as registries

BOT_TOKEN_VARIABLE = "SLACK_BOT_TOKEN"
APP_TOKEN_VARIABLE = "SLACK_APP_TOKEN"
SIGNING_SECRET_VARIABLE = "SLACK_SIGNING_SECRET"
AUDIT_TOKEN_VARIABLE = "POLICYBOT_AUDIT_TOKEN"

_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_COMMAND = re.compile(r"/[a-z0-9][a-z0-9_-]{0,31}")


class ConfigError(InputError):
    """The file is missing, not YAML, or does not fit the schema; or a
    secret is missing from the environment. One line per problem."""


# -- value types ---------------------------------------------------------------


def parse_duration(value: Any) -> datetime.timedelta:
    """`90s`, `10m`, `1h30m`, `2d` as a timedelta; a bare number is refused,
    because nobody can tell whether `10` meant seconds or minutes."""
    if isinstance(value, datetime.timedelta):
        return value
    text = value.strip() if isinstance(value, str) else ""
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise ValueError(f"must be a duration like 10m, 90s or 1h30m, got {value!r}")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return datetime.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _positive(value: datetime.timedelta) -> datetime.timedelta:
    if value <= datetime.timedelta(0):
        raise ValueError("must be longer than 0s")
    return value


Duration = Annotated[datetime.timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]
"""A positive duration written like `10m`."""


@dataclasses.dataclass(frozen=True)
class Address:
    """Where a server listens."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_address(value: Any) -> Address:
    """`host:port`, `:port` (all interfaces) or `[::1]:port`."""
    if isinstance(value, Address):
        return value
    text = value.strip() if isinstance(value, str) else ""
    host, colon, port = text.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    if not colon or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"must be host:port like 0.0.0.0:9090, got {value!r}")
    return Address(host, int(port))


ListenAddress = Annotated[Address, BeforeValidator(parse_address)]


def _relative_to_file(value: Path, info: pydantic.ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if value.is_absolute() or base is None:
        return value
    return Path(base) / value


FilePath = Annotated[Path, AfterValidator(_relative_to_file)]
"""A path; relative ones are taken relative to the config file."""


def _existing(value: Path) -> Path:
    if not value.exists():
        raise ValueError(f"must be an existing file or directory, got '{value}'")
    return value


ExistingPath = Annotated[FilePath, AfterValidator(_existing)]
"""A path that must be there when the file is loaded, not only once it is used."""


def _command_name(value: str) -> str:
    if not _COMMAND.fullmatch(value):
        raise ValueError(
            f"must be a slash command like /policy (lower case, no spaces), got {value!r}"
        )
    return value


# -- sections ------------------------------------------------------------------


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class TeamsConfig(_Section):
    """The team registry: a file of its own, or the same content inline."""

    file: FilePath | None = None
    """A team registry file (`default_team`, `teams`, optional `lookup`)."""

    default_team: registries.TeamName | None = None
    """Inline registry: the team that gets what nobody else owns."""

    teams: tuple[registries.Team, ...] = ()
    """Inline registry: every team the bot may notify."""

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        inline = self.default_team is not None or bool(self.teams)
        if self.file is not None and inline:
            raise ValueError("give either file or inline default_team and teams, not both")
        if self.file is None and not inline:
            raise ValueError("give file (a team registry) or inline default_team and teams")
        if inline:
            # The registry's own checks: one team at least, names unique, and
            # a default team that is listed.
            try:
                registries.RegistryFile(default_team=self.default_team or "", teams=self.teams)
            except pydantic.ValidationError as error:
                first = error.errors(include_url=False)[0]
                where = f"{errors.field_path(first['loc'])}: " if first["loc"] else ""
                raise ValueError(f"{where}{_describe(first)}") from None
        return self


class PoliciesConfig(_Section):
    """Where the policies that judge manifests come from."""

    bundled: bool = True
    """The baseline shipped with policybot (`knowledge/policies`)."""

    paths: tuple[FilePath, ...] = ()
    """Policy files or directories: Kyverno policies, ValidatingPolicies, VAPs."""

    cluster: bool = False
    """Also read the Kyverno ClusterPolicies and Policies installed in the cluster
    (needs `list` on `clusterpolicies` and `policies` in `kyverno.io`)."""

    @model_validator(mode="after")
    def _some_source(self) -> Self:
        if not (self.bundled or self.paths or self.cluster):
            raise ValueError("enable at least one source: bundled, paths or cluster")
        return self


class FixDefaultsConfig(_Section):
    """Values the platform has decided (LimitRange defaults, the default
    StorageClass), which a fix writes where a rule only wants a field set."""

    bundled: bool = True
    """The defaults shipped with policybot (`knowledge/platform`)."""

    paths: tuple[ExistingPath, ...] = ()
    """LimitRange and StorageClass manifests, files or directories; they come
    before the bundled ones."""

    cluster: bool = True
    """Also read the LimitRanges of the checked manifest's namespace and the
    default StorageClass from the cluster, in front of the files (needs `list`
    on `limitranges` and on `storageclasses` in `storage.k8s.io`)."""


class GroupingConfig(_Section):
    """How repeats of one rejection fold into one Slack message."""

    window: Duration = datetime.timedelta(minutes=10)
    """Repeats within this time of the last one update the same message."""

    max_age: Duration = datetime.timedelta(hours=24)
    """After this long, a repeat starts a new message even if it never paused,
    so an old thread does not hide an ongoing problem."""

    update_interval: Duration = datetime.timedelta(seconds=30)
    """A message is updated at most this often; repeats in between are
    shown by the next update (Slack allows about one update per second per
    channel)."""

    @model_validator(mode="after")
    def _window_fits(self) -> Self:
        if self.max_age < self.window:
            raise ValueError("max_age must be at least as long as window")
        return self


class WatchConfig(_Section):
    """The watch of core/v1 Events (controllers' FailedCreate and the like)."""

    enabled: bool = True
    """Watch Events for admission rejections."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty watches all of them (needs a ClusterRole)."""


class TLSConfig(_Section):
    """The audit webhook's certificate, and optionally its client CA."""

    cert_file: FilePath
    key_file: FilePath
    client_ca_file: FilePath | None = None
    """Verify client certificates against this CA; the API server then
    authenticates with the client certificate of its webhook kubeconfig."""

    client_cert_names: tuple[str, ...] = ()
    """Accept only client certificates with one of these CNs or SANs."""


class AuditWebhookConfig(_Section):
    """The receiver of the API server's audit stream (PSA, VAP, kubectl apply)."""

    enabled: bool = False
    """Listen for audit events."""

    listen: ListenAddress = Address("0.0.0.0", 8443)
    """host:port to listen on."""

    path: str = "/audit"
    """The path of the webhook kubeconfig's server URL."""

    tls: TLSConfig | None = None
    """Serve HTTPS; strongly advised, since audit events carry request bodies."""

    token_file: FilePath | None = None
    """A file holding the bearer token (a mounted Secret); without it, the
    token is read from the POLICYBOT_AUDIT_TOKEN environment variable."""


class SlackHTTPConfig(_Section):
    """Where Slack's HTTP requests arrive in HTTP mode."""

    listen: ListenAddress = Address("0.0.0.0", 3000)
    path: str = "/slack/events"
    """The path of the Request URL in the Slack app's settings."""


class SlackConfig(_Section):
    """How the bot talks to Slack."""

    mode: Literal["socket", "http"] = "socket"
    """`socket` opens an outbound WebSocket (no ingress needed, needs
    SLACK_APP_TOKEN); `http` receives requests at `http.listen` (needs an
    ingress and SLACK_SIGNING_SECRET)."""

    command: Annotated[str, AfterValidator(_command_name)] = "/policy"
    """The slash command, as named in the Slack app manifest."""

    http: SlackHTTPConfig = SlackHTTPConfig()

    api_url: str | None = None
    """Another Slack Web API base URL (an enterprise proxy); rarely needed."""


class StoreConfig(_Section):
    """The embedded state: seen events, the outbox, notification groups."""

    path: FilePath = Path("policybot.db")
    """A SQLite file on a persistent volume; the default is in the working
    directory, since the config file often sits in a read-only ConfigMap."""


class HealthConfig(_Section):
    """The health and metrics server, for probes and Prometheus."""

    listen: ListenAddress = Address("0.0.0.0", 9090)
    """Serves /healthz, /readyz and /metrics."""


class Config(_Section):
    """The whole file."""

    teams: TeamsConfig
    """Who owns what, and where to tell them."""

    routing: registries.Lookup | None = None
    """Label and annotation keys that name the owning team; overrides the
    registry file's own `lookup`."""

    policies: PoliciesConfig = PoliciesConfig()
    fix_defaults: FixDefaultsConfig = FixDefaultsConfig()
    grouping: GroupingConfig = GroupingConfig()
    watch: WatchConfig = WatchConfig()
    audit_webhook: AuditWebhookConfig = AuditWebhookConfig()
    slack: SlackConfig = SlackConfig()
    store: StoreConfig = StoreConfig()
    health: HealthConfig = HealthConfig()

    _source: str = PrivateAttr(default="config")

    @property
    def source(self) -> str:
        """The file this was read from, for messages."""
        return self._source

    def load_registry(self) -> registries.Registry:
        """The team registry, from its file or the inline teams.

        Raises:
            TeamsError: naming the registry file (or this file) and the field.
        """
        section = self.teams
        if section.file is not None:
            registry = registries.Registry.load(section.file)
        else:
            data: dict[str, Any] = {"default_team": section.default_team, "teams": section.teams}
            registry = registries.Registry.from_data(data, source=f"{self.source}: teams")
        if self.routing is not None:
            registry.lookup = self.routing
        return registry


# -- loading -------------------------------------------------------------------


def load(path: str | Path) -> Config:
    """Read and check a configuration file.

    Raises:
        ConfigError: every problem, one line each, naming the file and key.
    """
    source = str(path)
    try:
        data: Any = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror or error}", source=source) from None
    except yaml.YAMLError as error:
        raise ConfigError(errors.describe_yaml_error(error), source=source) from None
    if data is None:
        raise ConfigError("the file is empty; see docs/configuration.md", source=source)
    return from_data(data, source=source, base_dir=Path(path).resolve().parent)


def from_data(data: Any, *, source: str = "config", base_dir: Path | None = None) -> Config:
    """Check already-parsed YAML; see `load`."""
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"must be a mapping of settings, got {type(data).__name__}", source=source
        )
    try:
        config = Config.model_validate(data, context={"base_dir": base_dir})
    except pydantic.ValidationError as error:
        problems = [
            (errors.field_path(p["loc"]), _describe(p))
            for p in error.errors(include_url=False, include_context=True)
        ]
        (field, problem), *rest = problems
        raise ConfigError(
            problem,
            source=source,
            field=field,
            more=[f"{source}: {f}: {p}" for f, p in rest],
        ) from None
    config._source = source
    return config


def _describe(problem: Mapping[str, Any]) -> str:
    """A pydantic problem in our words: what it must be, and what it got."""
    kind = problem["type"]
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a setting policybot knows; check its spelling in docs/configuration.md"
    if kind == "value_error":
        return str(problem.get("ctx", {}).get("error") or problem["msg"])
    if kind == "too_short":
        return f"must have at least {problem['ctx']['min_length']} entry, got none"
    if kind == "literal_error":
        return f"must be {problem['ctx']['expected']}, got {problem['input']!r}"
    return f"{problem['msg'][:1].lower()}{problem['msg'][1:]}, got {problem['input']!r}"


# -- secrets -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Secrets:
    """What the environment must supply; never logged, never in `repr`."""

    bot_token: str = dataclasses.field(repr=False)
    app_token: str | None = dataclasses.field(default=None, repr=False)
    signing_secret: str | None = dataclasses.field(default=None, repr=False)
    audit_token: str | None = dataclasses.field(default=None, repr=False)


def read_secrets(config: Config, environ: Mapping[str, str] | None = None) -> Secrets:
    """The secrets `config` needs, from the environment (or a token file).

    Raises:
        ConfigError: naming each missing or malformed variable, and why it
            is needed.
    """
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def need(variable: str, why: str, prefix: str | None = None) -> str | None:
        value = env.get(variable, "").strip()
        if not value:
            problems.append(f"environment variable {variable} is not set; {why}")
            return None
        if prefix is not None and not value.startswith(prefix):
            shown = value.split("-", 1)[0] + "-" if "-" in value else "something else"
            problems.append(f"{variable} must start with {prefix!r}, got {shown!r}; {why}")
            return None
        return value

    # Slack: the bot token always, then what the chosen mode connects with.
    bot_token = need(BOT_TOKEN_VARIABLE, "it is the Bot User OAuth Token (xoxb-...)", "xoxb-")
    app_token = signing_secret = None
    if config.slack.mode == "socket":
        app_token = need(
            APP_TOKEN_VARIABLE,
            "Socket Mode needs an app-level token with connections:write (xapp-...)",
            "xapp-",
        )
    else:
        signing_secret = need(
            SIGNING_SECRET_VARIABLE, "HTTP mode verifies Slack's requests with the signing secret"
        )

    audit_token = _audit_token(config.audit_webhook, env, problems)
    if problems or bot_token is None:
        first, *rest = problems
        raise ConfigError(first, source=config.source, more=[f"{config.source}: {p}" for p in rest])
    return Secrets(
        bot_token=bot_token,
        app_token=app_token,
        signing_secret=signing_secret,
        audit_token=audit_token,
    )


def _audit_token(
    section: AuditWebhookConfig, env: Mapping[str, str], problems: list[str]
) -> str | None:
    if not section.enabled:
        return None
    if section.token_file is not None:
        try:
            token = section.token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            problems.append(
                f"audit_webhook.token_file: cannot read {section.token_file}: "
                f"{error.strerror or error}"
            )
            return None
        if not token:
            problems.append(f"audit_webhook.token_file: {section.token_file} is empty")
        return token or None
    token = env.get(AUDIT_TOKEN_VARIABLE, "").strip()
    if token:
        return token
    if section.tls is not None and section.tls.client_ca_file is not None:
        return None  # client certificates authenticate the API server
    problems.append(
        f"environment variable {AUDIT_TOKEN_VARIABLE} is not set; the audit webhook needs a "
        "bearer token (or audit_webhook.token_file, or tls.client_ca_file for client certs)"
    )
    return None
