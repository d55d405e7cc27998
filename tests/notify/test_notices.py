"""Notices: the explanation and the fix a team reads for one violation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.intake.teams import Ownership, Registry
from bot.intake.violations import Violation
from bot.knowledge import catalog
from bot.notify import notices
from bot.notify.notices import FixCache, Knowledge
from bot.policy.fixes import platform_defaults
from bot.policy.fixes.patches import PatchOp
from bot.slack.messages import Placeholder, Workload

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "shop"}},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:latest"}]},
        },
    },
}
WORKLOAD = Workload("Deployment", "shop", "web")
REGISTRY = Registry.from_data(
    {"default_team": "shop", "teams": [{"name": "shop", "channel": "#shop", "oncall": "@shop-oc"}]}
)
OWNER = Ownership(REGISTRY.default, "default team")


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge.bundled()


def violation(**changes: Any) -> Violation:
    values: dict[str, Any] = {
        "engine": "kyverno",
        "policy": "disallow-privilege-escalation",
        "rule": "privilege-escalation",
        "message": "Privilege escalation must be turned off.",
        "action": "deny",
    }
    values.update(changes)
    return Violation(**values)


def build(knowledge: Knowledge, found: Violation, manifest: Any = DEPLOYMENT) -> Any:
    fixes = FixCache(copy.deepcopy(manifest)) if manifest is not None else None
    return notices.build(
        found, key="gkey", workload=WORKLOAD, ownership=OWNER, knowledge=knowledge, fixes=fixes
    )


def test_kyverno_violation_gets_proven_fix(knowledge: Knowledge) -> None:
    notice = build(knowledge, violation())

    assert notice.fix.status == "exact"
    assert "+          securityContext:" in notice.fix.diff
    assert "+            allowPrivilegeEscalation: false" in notice.fix.diff
    assert notice.title == "Privilege escalation must be turned off"
    assert notice.exception is not None
    assert notice.exception.allowed
    assert (notice.team, notice.oncall, notice.key) == ("shop", "@shop-oc", "gkey")


def test_generated_rule_name_finds_its_fix(knowledge: Knowledge) -> None:
    notice = build(knowledge, violation(rule="autogen-privilege-escalation"))

    assert notice.fix.status == "exact"


def test_guided_fix_lists_its_placeholders(knowledge: Knowledge) -> None:
    notice = build(knowledge, violation(policy="disallow-latest-tag", rule="forbid-latest-tag"))

    assert notice.fix.status == "guided"
    assert notice.fix.placeholders == (
        Placeholder("spec.template.spec.containers[0].image", "nginx:<pin a version>"),
    )


def test_rule_the_manifest_passes_says_so(knowledge: Knowledge) -> None:
    notice = build(knowledge, violation(policy="disallow-host-path", rule="host-path-volumes"))

    assert notice.fix.status == "none"
    assert "passes this rule" in notice.fix.note


def test_unknown_policy_gets_explanation_only(knowledge: Knowledge) -> None:
    notice = build(knowledge, violation(policy="team-special", rule="r1", message="no"))

    assert notice.fix.status == "none"
    assert "team-special is not among the policies" in notice.fix.note
    assert notice.title == "team-special/r1"


@pytest.mark.parametrize("engine", ["gatekeeper", "vap", "webhook"])
def test_foreign_engines_get_no_diff(knowledge: Knowledge, engine: str) -> None:
    notice = build(knowledge, violation(engine=engine, policy="allowed-repos", rule=None))

    assert notice.fix.status == "none"
    assert notice.fix.note
    assert "No explanation has been written" in notice.why


def test_no_manifest_still_explains(knowledge: Knowledge) -> None:
    notice = build(knowledge, violation(), manifest=None)

    assert notice.fix.status == "none"
    assert "no manifest" in notice.fix.note
    assert "privilege" in notice.why


def test_psa_check_is_explained_and_fixed_alone(knowledge: Knowledge) -> None:
    privileged = copy.deepcopy(DEPLOYMENT)
    container = privileged["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"] = {"privileged": True}
    privileged["spec"]["template"]["spec"]["hostNetwork"] = True
    found = violation(engine="psa", policy="baseline:v1.30", rule="privileged", containers=("web",))

    notice = build(knowledge, found, privileged)

    assert notice.title == "Containers may not run in privileged mode"
    assert notice.fix.status == "exact"
    assert "-            privileged: true" in notice.fix.diff
    changed = [line for line in notice.fix.diff.splitlines() if line[:1] in "+-"]
    assert not [line for line in changed if "hostNetwork" in line]


def test_psa_check_on_a_podless_kind(knowledge: Knowledge) -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
    found = violation(engine="psa", policy="baseline:latest", rule="privileged")

    notice = build(knowledge, found, config_map)

    assert notice.fix.status == "none"


def test_unknown_psa_level_is_a_note(knowledge: Knowledge) -> None:
    found = violation(engine="psa", policy="strictest:latest", rule="privileged")

    assert build(knowledge, found).fix.status == "none"


def test_workload_comes_from_the_manifest() -> None:
    fallback = Workload("ReplicaSet", "shop", "web-5d9c7")

    assert notices.workload_of(DEPLOYMENT, fallback=fallback) == WORKLOAD
    assert notices.workload_of(None, fallback=fallback) == fallback


def test_placeholders_in_nested_values() -> None:
    ops = (
        PatchOp("add", "/spec/containers/0/resources", {"requests": {"cpu": "<set a value>"}}),
        PatchOp("add", "/metadata/labels/app.kubernetes.io~1name", "<set a value>"),
        PatchOp("replace", "/spec/replicas", 2),
        PatchOp("remove", "/spec/hostPID"),
    )

    found = notices.placeholders_in(ops)

    assert [p.field for p in found] == [
        "spec.containers[0].resources.requests.cpu",
        'metadata.labels["app.kubernetes.io/name"]',
    ]


@pytest.mark.parametrize(
    ("segments", "text"),
    [
        (["spec", "containers", "0", "image"], "spec.containers[0].image"),
        (["metadata", "labels", "team"], "metadata.labels.team"),
        (["metadata", "annotations", "a.b/c"], 'metadata.annotations["a.b/c"]'),
        ([], ""),
    ],
)
def test_dotted_paths_read_like_kubectl(segments: list[str], text: str) -> None:
    assert notices.dotted(segments) == text


def test_platform_defaults_make_a_resources_fix_exact(knowledge: Knowledge) -> None:
    """With knowledge/platform loaded (as the bundled knowledge has it), missing
    requests take the platform's values; without, they stay placeholders."""
    found = violation(
        policy="require-resource-requests", rule="autogen-container-resources", message="no"
    )
    bare = Knowledge.load(knowledge.policies, knowledge.explainer.catalog)
    without = build(bare, found)
    with_defaults = Knowledge.load(
        knowledge.policies,
        knowledge.explainer.catalog,
        defaults=platform_defaults.load(catalog.bundled_platform_paths()),
    )

    notice = build(with_defaults, found)

    assert without.fix.status == "guided"
    assert notice.fix.status == "exact"
    assert "+              cpu: 100m" in notice.fix.diff
    assert any("LimitRange platform-container-defaults" in line for line in notice.fix.summary)
