"""PSA's checks on AppArmor, SELinux and seccomp: verdicts and exact wording."""

from __future__ import annotations

from typing import Any

import pytest

from tests.policy.pss.builders import container, failures, hardened, results, spec

APPARMOR = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER = "container.seccomp.security.alpha.kubernetes.io/"
UNCONFINED = {"type": "Unconfined"}

# (id, pod spec, metadata, level, version, check, reason, detail)
FAILING: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str, str, str]] = [
    (
        "apparmor-pod",
        spec(securityContext={"appArmorProfile": UNCONFINED}),
        {},
        "baseline",
        "latest",
        "appArmorProfile",
        "forbidden AppArmor profile",
        'pod must not set AppArmor profile type to "Unconfined"',
    ),
    (
        "apparmor-pod-containers-annotations",
        spec(
            hardened("a", appArmorProfile={"type": "Unconfined"}),
            hardened("b", appArmorProfile={"type": "Localhost", "localhostProfile": "p"}),
            securityContext={"appArmorProfile": {"type": "Bogus"}},
        ),
        {
            "annotations": {
                APPARMOR + "b": "unconfined",
                APPARMOR + "a": 'say "hi"',
                APPARMOR + "c": "localhost/custom",
                APPARMOR + "d": "",
            }
        },
        "baseline",
        "latest",
        "appArmorProfile",
        "forbidden AppArmor profiles",
        'pod and container "a" and annotations must not set AppArmor profile type to '
        '"Bogus", "Unconfined", "container.apparmor.security.beta.kubernetes.io/a="say \\"hi\\""", '
        '"container.apparmor.security.beta.kubernetes.io/b="unconfined""',
    ),
    (
        "selinux-type-user-role",
        spec(
            hardened("a", seLinuxOptions={"type": "spc_t", "user": "system_u"}),
            securityContext={"seLinuxOptions": {"role": "sysadm_r", "level": "s0"}},
        ),
        {},
        "baseline",
        "latest",
        "seLinuxOptions",
        "seLinuxOptions",
        'pod and container "a" set forbidden securityContext.seLinuxOptions: type "spc_t"; '
        "user may not be set; role may not be set",
    ),
    (
        "selinux-engine-type-before-1.31",
        spec(hardened(seLinuxOptions={"type": "container_engine_t"})),
        {},
        "baseline",
        "v1.30",
        "seLinuxOptions",
        "seLinuxOptions",
        'container "app" set forbidden securityContext.seLinuxOptions: type "container_engine_t"',
    ),
    (
        "seccomp-baseline",
        spec(
            hardened("c", seccompProfile=UNCONFINED),
            hardened("d", seccompProfile=UNCONFINED),
            securityContext={"seccompProfile": UNCONFINED},
        ),
        {},
        "baseline",
        "latest",
        "seccompProfile_baseline",
        "seccompProfile",
        'pod and containers "c", "d" must not set '
        'securityContext.seccompProfile.type to "Unconfined"',
    ),
    (
        "seccomp-annotations-before-1.19",
        spec(hardened("a"), hardened("b")),
        {
            "annotations": {
                SECCOMP_POD: "unconfined",
                SECCOMP_CONTAINER + "b": "unknown",
                SECCOMP_CONTAINER + "a": "docker/default",
            }
        },
        "baseline",
        "v1.18",
        "seccompProfile_baseline",
        "seccompProfile",
        "forbidden annotations "
        'container.seccomp.security.alpha.kubernetes.io/b="unknown", '
        'seccomp.security.alpha.kubernetes.io/pod="unconfined"',
    ),
    (
        "seccomp-restricted-unset",
        spec(container("a", allowPrivilegeEscalation=False), hardened("b")),
        {},
        "restricted",
        "latest",
        "seccompProfile_restricted",
        "seccompProfile",
        'pod or container "a" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost"',
    ),
    (
        "seccomp-restricted-explicit-first",
        spec(hardened("a", seccompProfile={}), container("b")),
        {},
        "restricted",
        "v1.19",
        "seccompProfile_restricted",
        "seccompProfile",
        'container "a" must not set securityContext.seccompProfile.type to ""',
    ),
]


@pytest.mark.parametrize(
    ("pod_spec", "metadata", "level", "version", "check", "reason", "detail"),
    [case[1:] for case in FAILING],
    ids=[case[0] for case in FAILING],
)
def test_check_forbids_with_psa_wording(
    pod_spec: dict[str, Any],
    metadata: dict[str, Any],
    level: str,
    version: str,
    check: str,
    reason: str,
    detail: str,
) -> None:
    """Each forbidden pod gets PSA's reason and detail, character for character."""
    found = failures(pod_spec, level=level, version=version, metadata=metadata)

    assert (found[check].reason, found[check].detail) == (reason, detail)


RUNTIME_DEFAULT = {"seccompProfile": {"type": "RuntimeDefault"}}

# (id, pod spec, metadata, level, version, check that must pass or not run)
PASSING: list[tuple[str, dict[str, Any], dict[str, Any], str, str, str]] = [
    (
        "apparmor-allowed",
        spec(hardened(appArmorProfile={"type": "RuntimeDefault"})),
        {"annotations": {APPARMOR + "app": "runtime/default", "other": "unconfined"}},
        "baseline",
        "latest",
        "appArmorProfile",
    ),
    (
        "selinux-engine-type",
        spec(hardened(seLinuxOptions={"type": "container_engine_t", "level": "s0:c1"})),
        {},
        "baseline",
        "v1.31",
        "seLinuxOptions",
    ),
    (
        "seccomp-unset-baseline",
        spec(container("a")),
        {},
        "baseline",
        "latest",
        "seccompProfile_baseline",
    ),
    (
        "seccomp-from-pod",
        spec(container("a", allowPrivilegeEscalation=False), securityContext=RUNTIME_DEFAULT),
        {},
        "restricted",
        "latest",
        "seccompProfile_restricted",
    ),
    (
        "seccomp-windows",
        spec(container("a"), os={"name": "windows"}),
        {},
        "restricted",
        "v1.25",
        "seccompProfile_restricted",
    ),
    (
        "seccomp-annotation-localhost",
        spec(hardened()),
        {"annotations": {SECCOMP_POD: "localhost/profile.json"}},
        "baseline",
        "v1.18",
        "seccompProfile_baseline",
    ),
]


@pytest.mark.parametrize(
    ("pod_spec", "metadata", "level", "version", "check"),
    [case[1:] for case in PASSING],
    ids=[case[0] for case in PASSING],
)
def test_check_allows_or_does_not_run(
    pod_spec: dict[str, Any], metadata: dict[str, Any], level: str, version: str, check: str
) -> None:
    """Allowed profiles, exemptions and version gates leave the check passing."""
    found = results(pod_spec, level=level, version=version, metadata=metadata)

    assert check not in found or found[check].allowed


def test_seccomp_restricted_lists_unset_after_bad() -> None:
    """Violations cover both the bad profile and the missing one."""
    pod_spec = spec(
        container("a", allowPrivilegeEscalation=False), hardened("b", seccompProfile=UNCONFINED)
    )

    result = failures(pod_spec)["seccompProfile_restricted"]

    assert [(v.container, v.value, v.missing) for v in result.violations] == [
        ("b", "Unconfined", False),
        ("a", None, True),
    ]


def test_apparmor_annotation_violation_uses_key_path() -> None:
    metadata = {"annotations": {APPARMOR + "app": "unconfined"}}

    result = failures(spec(), level="baseline", metadata=metadata)["appArmorProfile"]

    assert result.violations[0].path == f"metadata.annotations[{APPARMOR}app]"
    assert result.violations[0].value == "unconfined"


def test_selinux_violation_per_option() -> None:
    pod_spec = spec(hardened(seLinuxOptions={"type": "spc_t", "role": "r"}))

    result = failures(pod_spec, level="baseline")["seLinuxOptions"]

    assert [v.path for v in result.violations] == [
        "spec.containers[0].securityContext.seLinuxOptions.type",
        "spec.containers[0].securityContext.seLinuxOptions.role",
    ]
