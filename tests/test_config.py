"""The configuration file and the secrets from the environment."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from bot import config
from bot.cli.main import main
from bot.config import Address, ConfigError

EXAMPLE = Path(__file__).parent.parent / "docs" / "examples" / "policybot.yaml"

INLINE_TEAMS = {
    "default_team": "platform",
    "teams": [
        {"name": "platform", "channel": "#platform-alerts"},
        {"name": "payments", "channel": "#payments-alerts", "oncall": "@payments-oncall"},
    ],
}
SOCKET_ENV = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_APP_TOKEN": "xapp-1-A1-2-def"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def problems(error: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return str(error.value).splitlines()


class TestLoading:
    def test_minimal_file_gets_defaults(self, tmp_path: Path) -> None:
        """Only the teams are required; everything else has a default."""
        path = write(
            tmp_path / "policybot.yaml",
            "teams:\n  default_team: platform\n  teams:\n"
            "    - {name: platform, channel: '#platform-alerts'}\n",
        )

        loaded = config.load(path)

        assert loaded.slack.mode == "socket"
        assert loaded.slack.command == "/policy"
        assert loaded.grouping.window == datetime.timedelta(minutes=10)
        assert loaded.policies.bundled is True
        assert loaded.health.listen == Address("0.0.0.0", 9090)
        assert loaded.store.path == Path("policybot.db")  # the working directory
        assert loaded.source == str(path)

    def test_shipped_example_is_valid(self) -> None:
        """docs/examples/policybot.yaml loads, with its team registry."""
        loaded = config.load(EXAMPLE)
        registry = loaded.load_registry()

        assert loaded.slack.command == "/policy"
        assert registry.default.name == "platform"
        assert registry.lookup.namespace_keys[0] == "policybot.io/team"

    def test_relative_paths_follow_the_file(self, tmp_path: Path) -> None:
        """Paths in the file are relative to the file, not to the working directory."""
        (tmp_path / "conf").mkdir()
        write(
            tmp_path / "conf" / "teams.yaml",
            "default_team: web\nteams:\n  - {name: web, channel: '#web'}\n",
        )
        path = write(
            tmp_path / "conf" / "policybot.yaml",
            "teams: {file: teams.yaml}\npolicies: {paths: [policies]}\nstore: {path: db/bot.db}\n",
        )

        loaded = config.load(path)

        assert loaded.teams.file == tmp_path / "conf" / "teams.yaml"
        assert loaded.policies.paths == (tmp_path / "conf" / "policies",)
        assert loaded.store.path == tmp_path / "conf" / "db" / "bot.db"
        assert loaded.load_registry().default.channel == "#web"

    def test_fix_defaults_read_files_and_cluster(self, tmp_path: Path) -> None:
        """Every source is on by default; paths follow the file and must exist."""
        (tmp_path / "platform").mkdir()
        path = write(
            tmp_path / "policybot.yaml",
            "teams: {file: teams.yaml}\nfix_defaults: {paths: [platform], bundled: false}\n",
        )

        loaded = config.load(path)
        defaults = config.from_data({"teams": INLINE_TEAMS}).fix_defaults

        assert loaded.fix_defaults.paths == (tmp_path / "platform",)
        assert loaded.fix_defaults.bundled is False
        assert loaded.fix_defaults.cluster is True
        assert (defaults.bundled, defaults.paths, defaults.cluster) == (True, (), True)

    def test_routing_overrides_registry_lookup(self) -> None:
        """`routing` replaces the keys the registry would read."""
        loaded = config.from_data({"teams": INLINE_TEAMS, "routing": {"namespace_keys": ["owner"]}})

        registry = loaded.load_registry()

        assert registry.lookup.namespace_keys == ("owner",)
        owner = registry.find_owner(namespace={"metadata": {"labels": {"owner": "payments"}}})
        assert owner.team.name == "payments"

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("90s", datetime.timedelta(seconds=90)),
            ("10m", datetime.timedelta(minutes=10)),
            ("1h30m", datetime.timedelta(hours=1, minutes=30)),
            ("2d", datetime.timedelta(days=2)),
        ],
    )
    def test_durations_read_like_people_write(
        self, text: str, expected: datetime.timedelta
    ) -> None:
        """Durations take d, h, m and s, combined."""
        loaded = config.from_data({"teams": INLINE_TEAMS, "grouping": {"update_interval": text}})

        assert loaded.grouping.update_interval == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [(":8080", Address("0.0.0.0", 8080)), ("[::1]:9", Address("::1", 9))],
    )
    def test_listen_addresses_parse(self, text: str, expected: Address) -> None:
        """An address without a host listens everywhere; IPv6 goes in brackets."""
        loaded = config.from_data({"teams": INLINE_TEAMS, "health": {"listen": text}})

        assert loaded.health.listen == expected


class TestProblems:
    def test_error_names_file_key_and_expectation(self, tmp_path: Path) -> None:
        """The message reads `file: key.path: what it must be, got what`."""
        path = write(
            tmp_path / "config.yaml",
            "teams: {file: teams.yaml}\ngrouping:\n  window: 10 minutes\n",
        )

        with pytest.raises(ConfigError) as error:
            config.load(path)

        assert problems(error) == [
            f"{path}: grouping.window: must be a duration like 10m, 90s or 1h30m, got '10 minutes'"
        ]

    def test_every_problem_is_listed_at_once(self) -> None:
        """One line per problem, so the file is fixed in one pass."""
        data = {
            "teams": INLINE_TEAMS,
            "slack": {"mode": "websocket", "comand": "/x"},
            "health": {"listen": "nine-thousand"},
            "grouping": {"window": 5},
        }

        with pytest.raises(ConfigError) as error:
            config.from_data(data, source="config.yaml")

        assert problems(error) == [
            "config.yaml: grouping.window: must be a duration like 10m, 90s or 1h30m, got 5",
            "config.yaml: slack.mode: must be 'socket' or 'http', got 'websocket'",
            "config.yaml: slack.comand: is not a setting policybot knows; "
            "check its spelling in docs/configuration.md",
            "config.yaml: health.listen: must be host:port like 0.0.0.0:9090, got 'nine-thousand'",
        ]

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({}, "config.yaml: teams: is required"),
            (
                {"teams": {}},
                "config.yaml: teams: give file (a team registry) or inline default_team and teams",
            ),
            (
                {"teams": {"file": "t.yaml", "default_team": "x"}},
                "config.yaml: teams: give either file or inline default_team and teams, not both",
            ),
            (
                {"teams": {"default_team": "x", "teams": [{"name": "y", "channel": "#y"}]}},
                "config.yaml: teams: default_team must be the name of a listed team, got 'x'",
            ),
            (
                {"teams": {"default_team": "y", "teams": [{"name": "y", "channel": "y"}]}},
                'config.yaml: teams.teams[0].channel: must be a channel name with its "#" '
                '("#payments-alerts") or a channel ID ("C024BE91L"), got \'y\'',
            ),
            (
                {"teams": INLINE_TEAMS, "slack": {"command": "policy"}},
                "config.yaml: slack.command: must be a slash command like /policy "
                "(lower case, no spaces), got 'policy'",
            ),
            (
                {"teams": INLINE_TEAMS, "policies": {"bundled": False}},
                "config.yaml: policies: enable at least one source: bundled, paths or cluster",
            ),
            (
                {"teams": INLINE_TEAMS, "fix_defaults": {"clusters": False}},
                "config.yaml: fix_defaults.clusters: is not a setting policybot knows; "
                "check its spelling in docs/configuration.md",
            ),
            (
                {"teams": INLINE_TEAMS, "fix_defaults": {"paths": ["no-such-dir"]}},
                "config.yaml: fix_defaults.paths[0]: must be an existing file or directory, "
                "got 'no-such-dir'",
            ),
            (
                {"teams": INLINE_TEAMS, "fix_defaults": {"cluster": "sometimes"}},
                "config.yaml: fix_defaults.cluster: input should be a valid boolean, "
                "unable to interpret input, got 'sometimes'",
            ),
            (
                {"teams": INLINE_TEAMS, "grouping": {"window": "1h", "max_age": "30m"}},
                "config.yaml: grouping: max_age must be at least as long as window",
            ),
            (
                {"teams": INLINE_TEAMS, "grouping": {"window": "0s"}},
                "config.yaml: grouping.window: must be longer than 0s",
            ),
        ],
    )
    def test_bad_values_are_named(self, data: dict[str, object], expected: str) -> None:
        """Each mistake is reported with its key and what was expected."""
        with pytest.raises(ConfigError) as error:
            config.from_data(data, source="config.yaml")

        assert problems(error)[0] == expected

    def test_yaml_syntax_error_has_position(self, tmp_path: Path) -> None:
        """Broken YAML is located by line and column."""
        path = write(tmp_path / "c.yaml", "teams: [unclosed\n")

        with pytest.raises(ConfigError) as error:
            config.load(path)

        assert str(error.value).startswith(f"{path}: line 2, column 1: not valid YAML")

    def test_missing_file_is_reported(self, tmp_path: Path) -> None:
        """A path that does not exist says so, with the path."""
        with pytest.raises(ConfigError) as error:
            config.load(tmp_path / "nope.yaml")

        assert (
            str(error.value) == f"{tmp_path / 'nope.yaml'}: cannot read: No such file or directory"
        )

    def test_empty_file_points_at_the_docs(self, tmp_path: Path) -> None:
        """An empty file is not a config of defaults: teams are needed."""
        with pytest.raises(ConfigError, match=r"the file is empty; see docs/configuration\.md"):
            config.load(write(tmp_path / "c.yaml", "# nothing yet\n"))


class TestSecrets:
    def test_socket_mode_reads_both_tokens(self) -> None:
        """Socket Mode needs the bot token and the app-level token."""
        loaded = config.from_data({"teams": INLINE_TEAMS})

        secrets = config.read_secrets(loaded, SOCKET_ENV)

        assert secrets.bot_token == "xoxb-1-2-abc"
        assert secrets.app_token == "xapp-1-A1-2-def"
        assert secrets.signing_secret is None
        assert "xoxb" not in repr(secrets)

    def test_http_mode_needs_the_signing_secret(self) -> None:
        """HTTP mode names SLACK_SIGNING_SECRET when it is missing."""
        loaded = config.from_data({"teams": INLINE_TEAMS, "slack": {"mode": "http"}})

        with pytest.raises(ConfigError) as error:
            config.read_secrets(loaded, {"SLACK_BOT_TOKEN": "xoxb-1"})

        assert problems(error) == [
            "config: environment variable SLACK_SIGNING_SECRET is not set; "
            "HTTP mode verifies Slack's requests with the signing secret"
        ]

    def test_every_missing_variable_is_named(self) -> None:
        """Both missing tokens are listed, each with why it is needed."""
        loaded = config.from_data({"teams": INLINE_TEAMS}, source="c.yaml")

        with pytest.raises(ConfigError) as error:
            config.read_secrets(loaded, {})

        assert problems(error) == [
            "c.yaml: environment variable SLACK_BOT_TOKEN is not set; "
            "it is the Bot User OAuth Token (xoxb-...)",
            "c.yaml: environment variable SLACK_APP_TOKEN is not set; "
            "Socket Mode needs an app-level token with connections:write (xapp-...)",
        ]

    def test_swapped_tokens_show_only_prefix(self) -> None:
        """A token of the wrong type is refused without printing the secret."""
        loaded = config.from_data({"teams": INLINE_TEAMS})
        env = {"SLACK_BOT_TOKEN": "xapp-1-secretpart", "SLACK_APP_TOKEN": "xoxb-2-secretpart"}

        with pytest.raises(ConfigError) as error:
            config.read_secrets(loaded, env)

        assert "secretpart" not in str(error.value)
        assert "SLACK_BOT_TOKEN must start with 'xoxb-', got 'xapp-'" in str(error.value)

    def test_audit_token_from_environment(self) -> None:
        """An enabled audit webhook takes its bearer token from the environment."""
        loaded = config.from_data({"teams": INLINE_TEAMS, "audit_webhook": {"enabled": True}})

        secrets = config.read_secrets(loaded, {**SOCKET_ENV, "POLICYBOT_AUDIT_TOKEN": "t0k"})

        assert secrets.audit_token == "t0k"

    def test_audit_token_from_file(self, tmp_path: Path) -> None:
        """A token file (a mounted Secret) works instead of the variable."""
        write(tmp_path / "token", "from-file\n")
        loaded = config.from_data(
            {"teams": INLINE_TEAMS, "audit_webhook": {"enabled": True, "token_file": "token"}},
            base_dir=tmp_path,
        )

        assert config.read_secrets(loaded, SOCKET_ENV).audit_token == "from-file"

    def test_missing_audit_token_is_named(self) -> None:
        """Without a token or client certificates, the variable is named."""
        loaded = config.from_data({"teams": INLINE_TEAMS, "audit_webhook": {"enabled": True}})

        with pytest.raises(ConfigError, match="POLICYBOT_AUDIT_TOKEN is not set"):
            config.read_secrets(loaded, SOCKET_ENV)

    def test_client_certificates_need_no_token(self, tmp_path: Path) -> None:
        """With a client CA, the API server authenticates by certificate."""
        tls = {"cert_file": "c.pem", "key_file": "k.pem", "client_ca_file": "ca.pem"}
        loaded = config.from_data(
            {"teams": INLINE_TEAMS, "audit_webhook": {"enabled": True, "tls": tls}},
            base_dir=tmp_path,
        )

        assert config.read_secrets(loaded, SOCKET_ENV).audit_token is None
        assert loaded.audit_webhook.tls is not None
        assert loaded.audit_webhook.tls.client_ca_file == tmp_path / "ca.pem"


class TestRunCommand:
    def test_bad_config_exits_2_with_every_problem(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """`policybot run` checks the file before connecting to anything."""
        path = write(tmp_path / "c.yaml", "teams: {file: t.yaml}\nslack: {mode: carrier-pigeon}\n")

        code = main(["run", "--config", str(path)])

        assert code == 2
        assert capsys.readouterr().err == (
            f"policybot: error: {path}: slack.mode: must be 'socket' or 'http', "
            "got 'carrier-pigeon'\n"
        )

    def test_missing_secret_exits_2_naming_it(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The variables are checked before connecting, and named when missing."""
        for variable in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
            monkeypatch.delenv(variable, raising=False)
        path = write(tmp_path / "c.yaml", "teams: {file: t.yaml}\n")

        code = main(["run", "--config", str(path)])

        assert code == 2
        assert "environment variable SLACK_BOT_TOKEN is not set" in capsys.readouterr().err
