"""PSA's checks on privileges, capabilities and users: verdicts and exact wording."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.pss import FieldViolation
from tests.policy.pss.builders import container, failures, hardened, results, spec

WINDOWS: dict[str, Any] = {"os": {"name": "windows"}}
USERNS: dict[str, Any] = {"hostUsers": False}

# (id, pod spec, level, version, check, reason, detail)
FAILING: list[tuple[str, dict[str, Any], str, str, str, str, str]] = [
    (
        "privileged-one",
        spec(hardened(privileged=True)),
        "baseline",
        "latest",
        "privileged",
        "privileged",
        'container "app" must not set securityContext.privileged=true',
    ),
    (
        "privileged-init-first",
        spec(hardened("web", privileged=True), init=(hardened("setup", privileged=True),)),
        "baseline",
        "v1.0",
        "privileged",
        "privileged",
        'containers "setup", "web" must not set securityContext.privileged=true',
    ),
    (
        "escalation-unset",
        spec(container("app")),
        "restricted",
        "latest",
        "allowPrivilegeEscalation",
        "allowPrivilegeEscalation != false",
        'container "app" must set securityContext.allowPrivilegeEscalation=false',
    ),
    (
        "escalation-true",
        spec(
            hardened("a", allowPrivilegeEscalation=True),
            hardened("b", allowPrivilegeEscalation=None),
        ),
        "restricted",
        "v1.8",
        "allowPrivilegeEscalation",
        "allowPrivilegeEscalation != false",
        'containers "a", "b" must set securityContext.allowPrivilegeEscalation=false',
    ),
    (
        "escalation-windows-before-1.25",
        spec(container("app"), **WINDOWS),
        "restricted",
        "v1.24",
        "allowPrivilegeEscalation",
        "allowPrivilegeEscalation != false",
        'container "app" must set securityContext.allowPrivilegeEscalation=false',
    ),
    (
        "capabilities-baseline",
        spec(hardened(capabilities={"add": ["SYS_ADMIN", "CHOWN", "NET_RAW"]})),
        "baseline",
        "latest",
        "capabilities_baseline",
        "non-default capabilities",
        'container "app" must not include "NET_RAW", "SYS_ADMIN" '
        "in securityContext.capabilities.add",
    ),
    (
        "capabilities-baseline-before-restricted-existed",
        spec(hardened(capabilities={"drop": ["ALL"], "add": ["NET_ADMIN"]})),
        "restricted",
        "v1.21",
        "capabilities_baseline",
        "non-default capabilities",
        'container "app" must not include "NET_ADMIN" in securityContext.capabilities.add',
    ),
    (
        "capabilities-no-drop",
        spec(container("app", allowPrivilegeEscalation=False)),
        "restricted",
        "latest",
        "capabilities_restricted",
        "unrestricted capabilities",
        'container "app" must set securityContext.capabilities.drop=["ALL"]',
    ),
    (
        "capabilities-drop-and-add",
        spec(
            hardened("a", capabilities={"drop": ["NET_RAW"]}),
            hardened("b", capabilities={"drop": ["ALL"], "add": ["SYS_TIME", "NET_BIND_SERVICE"]}),
        ),
        "restricted",
        "v1.22",
        "capabilities_restricted",
        "unrestricted capabilities",
        'container "a" must set securityContext.capabilities.drop=["ALL"]; '
        'container "b" must not include "SYS_TIME" in securityContext.capabilities.add',
    ),
    (
        "proc-mount",
        spec(hardened(procMount="Unmasked")),
        "baseline",
        "latest",
        "procMount",
        "procMount",
        'container "app" must not set securityContext.procMount to "Unmasked"',
    ),
    (
        "proc-mount-user-namespace-before-1.35",
        spec(hardened(procMount="Unmasked"), **USERNS),
        "baseline",
        "v1.34",
        "procMount",
        "procMount",
        'container "app" must not set securityContext.procMount to "Unmasked"',
    ),
    (
        "proc-mount-restricted-ignores-user-namespace",
        spec(hardened(procMount="Unmasked"), **USERNS),
        "restricted",
        "latest",
        "procMount_restricted",
        "procMount",
        'container "app" must not set securityContext.procMount to "Unmasked"',
    ),
    (
        "non-root-implicit",
        spec(container("a", allowPrivilegeEscalation=False), container("b")),
        "restricted",
        "latest",
        "runAsNonRoot",
        "runAsNonRoot != true",
        'pod or containers "a", "b" must set securityContext.runAsNonRoot=true',
    ),
    (
        "non-root-explicit-wins-over-implicit",
        spec(
            hardened("a", runAsNonRoot=False),
            container("b"),
            securityContext={"runAsNonRoot": False},
        ),
        "restricted",
        "latest",
        "runAsNonRoot",
        "runAsNonRoot != true",
        'pod and container "a" must not set securityContext.runAsNonRoot=false',
    ),
    (
        "non-root-user-namespace-before-1.35",
        spec(hardened(runAsNonRoot=False), **USERNS),
        "restricted",
        "v1.34",
        "runAsNonRoot",
        "runAsNonRoot != true",
        'container "app" must not set securityContext.runAsNonRoot=false',
    ),
    (
        "run-as-root",
        spec(
            hardened("a", runAsUser=0),
            hardened("b", runAsUser=1000),
            securityContext={"runAsUser": 0},
        ),
        "restricted",
        "v1.23",
        "runAsUser",
        "runAsUser=0",
        'pod and container "a" must not set runAsUser=0',
    ),
]


@pytest.mark.parametrize(
    ("pod_spec", "level", "version", "check", "reason", "detail"),
    [case[1:] for case in FAILING],
    ids=[case[0] for case in FAILING],
)
def test_check_forbids_with_psa_wording(
    pod_spec: dict[str, Any], level: str, version: str, check: str, reason: str, detail: str
) -> None:
    """Each forbidden pod gets PSA's reason and detail, character for character."""
    result = failures(pod_spec, level=level, version=version)[check]

    assert (result.reason, result.detail) == (reason, detail)


# (id, pod spec, level, version, check that must pass or not run)
PASSING: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("privileged-false", spec(hardened(privileged=False)), "baseline", "latest", "privileged"),
    (
        "escalation-windows",
        spec(container("app"), **WINDOWS),
        "restricted",
        "v1.25",
        "allowPrivilegeEscalation",
    ),
    (
        "escalation-before-1.8",
        spec(container("app")),
        "restricted",
        "v1.7",
        "allowPrivilegeEscalation",
    ),
    (
        "default-capabilities",
        spec(hardened(capabilities={"add": ["CHOWN", "KILL"]})),
        "baseline",
        "latest",
        "capabilities_baseline",
    ),
    (
        "bind-service-only",
        spec(hardened(capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})),
        "restricted",
        "latest",
        "capabilities_restricted",
    ),
    (
        "capabilities-windows",
        spec(container("app"), **WINDOWS),
        "restricted",
        "latest",
        "capabilities_restricted",
    ),
    (
        "capabilities-before-1.22",
        spec(container("app")),
        "restricted",
        "v1.21",
        "capabilities_restricted",
    ),
    ("proc-mount-default", spec(hardened(procMount="Default")), "baseline", "latest", "procMount"),
    (
        "proc-mount-user-namespace",
        spec(hardened(procMount="Unmasked"), **USERNS),
        "baseline",
        "latest",
        "procMount",
    ),
    (
        "non-root-from-pod",
        spec(container("app"), securityContext={"runAsNonRoot": True}),
        "restricted",
        "latest",
        "runAsNonRoot",
    ),
    (
        "non-root-user-namespace",
        spec(hardened(runAsNonRoot=False), **USERNS),
        "restricted",
        "v1.35",
        "runAsNonRoot",
    ),
    ("root-before-1.23", spec(hardened(runAsUser=0)), "restricted", "v1.22", "runAsUser"),
    (
        "root-user-namespace",
        spec(hardened(runAsUser=0), **USERNS),
        "restricted",
        "latest",
        "runAsUser",
    ),
    ("non-zero-user", spec(hardened(runAsUser=1000)), "restricted", "latest", "runAsUser"),
]


@pytest.mark.parametrize(
    ("pod_spec", "level", "version", "check"),
    [case[1:] for case in PASSING],
    ids=[case[0] for case in PASSING],
)
def test_check_allows_or_does_not_run(
    pod_spec: dict[str, Any], level: str, version: str, check: str
) -> None:
    """Allowed values, exemptions and version gates leave the check passing."""
    found = results(pod_spec, level=level, version=version)

    assert check not in found or found[check].allowed


def test_violations_name_each_offending_field() -> None:
    """Violations carry the container, the path, the value and what is allowed."""
    pod_spec = spec(
        container("web", capabilities={"add": ["SYS_TIME"]}),
        init=(hardened("setup"),),
    )

    found = failures(pod_spec)

    assert found["allowPrivilegeEscalation"].violations == (
        FieldViolation(
            "web",
            "spec.containers[0].securityContext.allowPrivilegeEscalation",
            None,
            (False,),
            missing=True,
        ),
    )
    assert found["capabilities_restricted"].violations == (
        FieldViolation(
            "web", "spec.containers[0].securityContext.capabilities.drop", None, ("ALL",), True
        ),
        FieldViolation(
            "web",
            "spec.containers[0].securityContext.capabilities.add",
            ("SYS_TIME",),
            (None, "NET_BIND_SERVICE"),
        ),
    )


def test_run_as_non_root_lists_explicit_then_implicit() -> None:
    """Every offending field is listed, though PSA's detail names only the explicit one."""
    pod_spec = spec(container("a"), hardened("b", runAsNonRoot=False))

    result = failures(pod_spec)["runAsNonRoot"]

    assert [(v.path, v.value) for v in result.violations] == [
        ("spec.containers[1].securityContext.runAsNonRoot", False),
        ("spec.containers[0].securityContext.runAsNonRoot", None),
    ]


def test_run_as_user_allows_any_positive_id() -> None:
    """`>0` stands for the open range of allowed user IDs."""
    result = failures(spec(hardened(runAsUser=0)))["runAsUser"]

    assert result.violations[0].allowed == (None, ">0")
