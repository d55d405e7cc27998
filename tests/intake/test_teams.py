"""The team registry: loading it strictly, and finding who owns a workload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.intake.teams import Registry, TeamsError

REGISTRY = """\
default_team: platform
teams:
  - name: platform
    channel: "#platform"
    oncall: "@platform-oncall"
  - name: payments
    channel: C024BE91L
    oncall: S0614TZR7
    approvers: ["@alice", U024BE7LH]
    aliases: [checkout]
  - name: search
    channel: "#search-alerts"
"""


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    path = tmp_path / "teams.yaml"
    path.write_text(REGISTRY)
    return Registry.load(path)


def namespace(name: str, *, labels: Any = None, annotations: Any = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if labels is not None:
        metadata["labels"] = labels
    if annotations is not None:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def deployment(*, labels: Any = None, template_labels: Any = None) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": labels or {}},
        "spec": {"template": {"metadata": {"labels": template_labels or {}}}},
    }


def test_registry_file_loads(registry: Registry) -> None:
    payments = registry.get("payments")

    assert payments is not None
    assert payments.approvers == ("@alice", "U024BE7LH")
    assert registry.get("checkout") is payments
    assert registry.default.name == "platform"
    assert [team.name for team in registry] == ["platform", "payments", "search"]


def test_namespace_label_wins_over_workload(registry: Registry) -> None:
    owner = registry.find_owner(
        namespace=namespace("shop", labels={"team": "payments"}),
        workload=deployment(labels={"team": "search"}),
    )

    assert owner.team.name == "payments"
    assert owner.reason == "namespace shop label team=payments"


def test_namespace_annotation_counts_too(registry: Registry) -> None:
    owner = registry.find_owner(
        namespace=namespace("shop", annotations={"policybot.io/team": "search"})
    )

    assert owner.team.name == "search"
    assert owner.reason == "namespace shop annotation policybot.io/team=search"


def test_configured_key_order_decides(registry: Registry) -> None:
    """policybot.io/team is tried before the generic `team` label."""
    owner = registry.find_owner(
        namespace=namespace("shop", labels={"team": "search", "policybot.io/team": "payments"})
    )

    assert owner.team.name == "payments"


def test_workload_labels_then_template_labels(registry: Registry) -> None:
    from_labels = registry.find_owner(
        namespace=namespace("shared"), workload=deployment(labels={"team": "search"})
    )
    from_template = registry.find_owner(
        workload=deployment(template_labels={"app.kubernetes.io/part-of": "checkout"})
    )

    assert from_labels.team.name == "search"
    assert from_template.team.name == "payments"
    assert (
        from_template.reason == "Deployment web template label app.kubernetes.io/part-of=checkout"
    )


def test_unknown_team_value_is_skipped(registry: Registry) -> None:
    """A label naming no team does not stop the search."""
    owner = registry.find_owner(
        namespace=namespace("shop", labels={"team": "nobody"}),
        workload=deployment(labels={"app.kubernetes.io/part-of": "checkout"}),
    )

    assert owner.team.name == "payments"


def test_unclaimed_workload_goes_to_default(registry: Registry) -> None:
    owner = registry.find_owner(namespace=namespace("misc"), workload=deployment())

    assert owner.team.name == "platform"
    assert owner.reason == "default team"


def test_custom_lookup_keys(tmp_path: Path) -> None:
    data = {
        "default_team": "a",
        "lookup": {"namespace_keys": ["owner"], "workload_keys": []},
        "teams": [{"name": "a", "channel": "#a"}, {"name": "b", "channel": "#b"}],
    }
    registry = Registry.from_data(data)

    owner = registry.find_owner(
        namespace=namespace("x", labels={"owner": "b", "team": "a"}),
        workload=deployment(labels={"team": "a"}),
    )

    assert owner.team.name == "b"


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (
            REGISTRY.replace('"#search-alerts"', "search-alerts"),
            "teams[2].channel",
            'must be a channel name with its "#" ("#payments-alerts") or a channel ID '
            "(\"C024BE91L\"), got 'search-alerts'",
        ),
        (
            REGISTRY.replace("S0614TZR7", "payments-oncall"),
            "teams[1].oncall",
            "got 'payments-oncall'",
        ),
        (REGISTRY.replace("U024BE7LH", "bob"), "teams[1].approvers[1]", "got 'bob'"),
        (REGISTRY.replace("name: search", "name: Search"), "teams[2].name", "lower-case"),
        (REGISTRY + "    slack: '#x'\n", "teams[2].slack", "Extra inputs are not permitted"),
        (REGISTRY.replace("default_team: platform", "default_team: ops"), "", "default_team"),
        (REGISTRY.replace("name: search", "name: checkout"), "", "claimed by both"),
        ("default_team: a\nteams: []\n", "teams", "at least 1 item"),
        (REGISTRY.replace("default_team: platform\n", ""), "default_team", "Field required"),
    ],
)
def test_bad_registry_names_file_and_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(text)

    with pytest.raises(TeamsError) as raised:
        Registry.load(path)

    message = str(raised.value)
    assert message.startswith(f"{path}: {field}: " if field else f"{path}: (top level): ")
    assert problem in message


def test_every_problem_gets_a_line(tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text(REGISTRY.replace('"#platform"', "platform").replace("S0614TZR7", "x"))

    with pytest.raises(TeamsError) as raised:
        Registry.load(path)

    lines = str(raised.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == ["teams[0].channel", "teams[1].oncall"]


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = tmp_path / "teams.yaml"
    path.write_text("teams: [\n  - name: a\n")

    with pytest.raises(TeamsError, match=r"teams.yaml: line \d+, column \d+: not valid YAML"):
        Registry.load(path)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TeamsError, match=r"absent\.yaml: cannot read: No such file"):
        Registry.load(tmp_path / "absent.yaml")
