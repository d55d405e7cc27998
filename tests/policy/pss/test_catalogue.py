"""Which checks run at each level and version, PSA's denial text, and pod templates."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bot.policy.pss import evaluate_pod, format_psa_message, levels, pod_parts
from tests.policy.pss.builders import container, hardened, spec

BASELINE_LATEST = [
    "appArmorProfile",
    "capabilities_baseline",
    "hostNamespaces",
    "hostPathVolumes",
    "hostPorts",
    "hostProbesAndHostLifecycle",
    "privileged",
    "procMount",
    "seLinuxOptions",
    "seccompProfile_baseline",
    "sysctls",
    "windowsHostProcess",
]
RESTRICTED_LATEST = [
    "appArmorProfile",
    "hostNamespaces",
    "hostPorts",
    "hostProbesAndHostLifecycle",
    "privileged",
    "seLinuxOptions",
    "sysctls",
    "windowsHostProcess",
    "allowPrivilegeEscalation",
    "capabilities_restricted",
    "procMount_restricted",
    "restrictedVolumes",
    "runAsNonRoot",
    "runAsUser",
    "seccompProfile_restricted",
]
RESTRICTED_1_18 = [
    "appArmorProfile",
    "capabilities_baseline",
    "hostNamespaces",
    "hostPorts",
    "privileged",
    "procMount",
    "seLinuxOptions",
    "seccompProfile_baseline",
    "sysctls",
    "windowsHostProcess",
    "allowPrivilegeEscalation",
    "restrictedVolumes",
    "runAsNonRoot",
]


@pytest.mark.parametrize(
    ("level", "version", "expected"),
    [
        ("baseline", "latest", BASELINE_LATEST),
        ("baseline", "v1.99", BASELINE_LATEST),
        ("restricted", "latest", RESTRICTED_LATEST),
        ("restricted", "v1.18", RESTRICTED_1_18),
        ("restricted", "v1.7", [c for c in RESTRICTED_1_18 if c != "allowPrivilegeEscalation"]),
        ("privileged", "latest", []),
    ],
)
def test_checks_run_in_psa_order(level: str, version: str, expected: list[str]) -> None:
    """Baseline checks come first, then restricted ones, each sorted by ID."""
    found = evaluate_pod({}, spec(), level=level, version=version)

    assert [r.check_id for r in found] == expected
    assert all(r.allowed for r in found)


def test_results_carry_check_level() -> None:
    found = {r.check_id: r.level for r in evaluate_pod({}, spec(), level="restricted")}

    assert (found["privileged"], found["runAsNonRoot"]) == ("baseline", "restricted")


@pytest.mark.parametrize(
    ("level", "version", "error"),
    [
        ("strict", "latest", "must be one of privileged, baseline, restricted"),
        ("baseline", "v2.0", 'must be "latest" or "v1.x"'),
        ("baseline", "v1.025", 'must be "latest" or "v1.x"'),
        ("baseline", "1.25", 'must be "latest" or "v1.x"'),
    ],
)
def test_bad_level_or_version_is_rejected(level: str, version: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        evaluate_pod({}, spec(), level=level, version=version)


def test_versions_compare_with_latest_newest() -> None:
    assert levels.parse_version("v1.9").is_older(levels.parse_version("v1.10"))
    assert levels.parse_version("v1.500").is_older(levels.LATEST)
    assert not levels.LATEST.is_older(levels.parse_version("v1.500"))
    assert str(levels.parse_version("v1.0")) == "v1.0"


def test_denial_joins_failures_in_order() -> None:
    """The enforce message lists `reason (detail)` for each failed check."""
    pod_spec = spec(
        container("x", capabilities={"add": ["SYS_ADMIN"]}),
        hostNetwork=True,
        securityContext={"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    )
    found = evaluate_pod({}, pod_spec, level="restricted", version="v1.30")

    message = format_psa_message(found, level="restricted", version="v1.30")

    assert message == (
        'violates PodSecurity "restricted:v1.30": host namespaces (hostNetwork=true), '
        'allowPrivilegeEscalation != false (container "x" must set '
        "securityContext.allowPrivilegeEscalation=false), unrestricted capabilities "
        '(container "x" must set securityContext.capabilities.drop=["ALL"]; container "x" '
        'must not include "SYS_ADMIN" in securityContext.capabilities.add)'
    )


def test_denial_prints_reason_alone_without_detail() -> None:
    found = evaluate_pod({}, spec(hardened(privileged=True)), level="baseline")
    blank = [dataclasses.replace(r, detail="") for r in found]

    assert format_psa_message(blank, level="baseline", version="latest") == (
        'violates PodSecurity "baseline:latest": privileged'
    )


TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "c"}]}}


@pytest.mark.parametrize(
    ("resource", "prefix"),
    [
        ({"kind": "Pod", "metadata": TEMPLATE["metadata"], "spec": TEMPLATE["spec"]}, ""),
        ({"kind": "Deployment", "spec": {"template": TEMPLATE}}, "spec.template."),
        ({"kind": "StatefulSet", "spec": {"template": TEMPLATE}}, "spec.template."),
        ({"kind": "DaemonSet", "spec": {"template": TEMPLATE}}, "spec.template."),
        ({"kind": "ReplicaSet", "spec": {"template": TEMPLATE}}, "spec.template."),
        ({"kind": "ReplicationController", "spec": {"template": TEMPLATE}}, "spec.template."),
        ({"kind": "Job", "spec": {"template": TEMPLATE}}, "spec.template."),
        ({"kind": "PodTemplate", "template": TEMPLATE}, "template."),
        (
            {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": TEMPLATE}}}},
            "spec.jobTemplate.spec.template.",
        ),
    ],
)
def test_pod_parts_finds_template(resource: dict[str, Any], prefix: str) -> None:
    """Every kind PSA checks yields the template's metadata, spec and path prefix."""
    assert pod_parts(resource) == (TEMPLATE["metadata"], TEMPLATE["spec"], prefix)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ({"kind": "Service", "spec": {}}, None),
        ({"kind": "ReplicationController", "spec": {}}, None),
        ({"kind": "Deployment", "spec": {}}, ({}, {}, "spec.template.")),
    ],
)
def test_pod_parts_without_template(
    resource: dict[str, Any], expected: tuple[dict[str, Any], dict[str, Any], str] | None
) -> None:
    """Only ReplicationController may lack a template; other kinds embed an empty one."""
    assert pod_parts(resource) == expected
