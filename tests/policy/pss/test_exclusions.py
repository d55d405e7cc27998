"""Kyverno's `podSecurity.exclude`: every form of entry, and its known quirks."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.pss.kyverno import PodSecurityOutcome, evaluate_pod_security
from tests.policy.pss.builders import container, hardened, pod, spec

NGINX = "registry.example/nginx:1.27"
BUSYBOX = "docker.io/busybox:1.36"


def outcome(
    level: str, pod_spec: dict[str, Any], *exclude: dict[str, Any], **metadata: Any
) -> PodSecurityOutcome:
    pod_security = {"level": level, "version": "latest", "exclude": list(exclude)}
    return evaluate_pod_security(pod_security, pod(pod_spec, **metadata), rule_name="psa")


def status(level: str, pod_spec: dict[str, Any], *exclude: dict[str, Any], **metadata: Any) -> str:
    return outcome(level, pod_spec, *exclude, **metadata).status


def sysctls(*names: str) -> dict[str, Any]:
    return spec(securityContext={"sysctls": [{"name": name, "value": "1"} for name in names]})


def adding(*capabilities: str) -> dict[str, Any]:
    return spec(hardened(image=NGINX, capabilities={"drop": ["ALL"], "add": list(capabilities)}))


SYSCTL_FIELD = "spec.securityContext.sysctls[*].name"
ADD_FIELD = "spec.containers[*].securityContext.capabilities.add"

# (id, level, pod spec, exclude entries, expected status)
CASES: list[tuple[str, str, dict[str, Any], list[dict[str, Any]], str]] = [
    # A pod-level control needs only its name.
    (
        "pod-control",
        "baseline",
        spec(hostNetwork=True),
        [{"controlName": "Host Namespaces"}],
        "pass",
    ),
    ("other-control", "baseline", spec(hostNetwork=True), [{"controlName": "Sysctls"}], "fail"),
    # restrictedField and values narrow the entry to some values of one field.
    (
        "values-match",
        "baseline",
        sysctls("kernel.msgmax"),
        [{"controlName": "Sysctls", "restrictedField": SYSCTL_FIELD, "values": ["kernel.msg*"]}],
        "pass",
    ),
    (
        "values-miss",
        "baseline",
        sysctls("kernel.msgmax", "kernel.shm_next_id"),
        [{"controlName": "Sysctls", "restrictedField": SYSCTL_FIELD, "values": ["kernel.msg*"]}],
        "fail",
    ),
    (
        "field-miss",
        "baseline",
        sysctls("kernel.msgmax"),
        [{"controlName": "Sysctls", "restrictedField": "spec.hostNetwork", "values": ["*"]}],
        "fail",
    ),
    # Every bad value in a list field must match one of the values.
    (
        "list-partly-covered",
        "baseline",
        adding("NET_ADMIN", "SYS_TIME"),
        [
            {
                "controlName": "Capabilities",
                "images": ["*"],
                "restrictedField": ADD_FIELD,
                "values": ["NET_ADMIN"],
            }
        ],
        "fail",
    ),
    (
        "list-covered",
        "baseline",
        adding("NET_ADMIN", "SYS_TIME"),
        [
            {
                "controlName": "Capabilities",
                "images": ["*"],
                "restrictedField": ADD_FIELD,
                "values": ["NET_*", "SYS_TIME"],
            }
        ],
        "pass",
    ),
    # Images select containers, with `*` and `?` wildcards.
    (
        "image-star",
        "baseline",
        spec(hardened(image=NGINX, privileged=True)),
        [{"controlName": "Privileged Containers", "images": ["registry.example/nginx*"]}],
        "pass",
    ),
    (
        "image-question",
        "baseline",
        spec(hardened(image=NGINX, privileged=True)),
        [{"controlName": "Privileged Containers", "images": ["registry.example/ngin?:1.27"]}],
        "pass",
    ),
    (
        "image-question-is-one-char",
        "baseline",
        spec(hardened(image=NGINX, privileged=True)),
        [{"controlName": "Privileged Containers", "images": ["registry.example/ngi?:1.27"]}],
        "fail",
    ),
    (
        "image-other-container",
        "baseline",
        spec(hardened("a", NGINX, privileged=True), hardened("b", BUSYBOX, privileged=True)),
        [{"controlName": "Privileged Containers", "images": ["*nginx*"]}],
        "fail",
    ),
    # Capabilities and Seccomp cover both levels' checks.
    (
        "capabilities-both-checks",
        "restricted",
        adding("SYS_ADMIN"),
        [{"controlName": "Capabilities", "images": [NGINX]}],
        "pass",
    ),
    (
        "capabilities-at-baseline",
        "baseline",
        adding("SYS_ADMIN"),
        [{"controlName": "Capabilities", "images": [NGINX]}],
        "pass",
    ),
    # A restricted control named in a baseline rule excuses nothing.
    (
        "restricted-control-at-baseline",
        "baseline",
        spec(hardened(privileged=True)),
        [{"controlName": "Running as Non-root"}, {"controlName": "Volume Types"}],
        "fail",
    ),
    # Restricted volume errors carry no value, so `values` never filters them.
    (
        "volume-values-ignored",
        "restricted",
        spec(volumes=[{"name": "share", "nfs": {"server": "nas", "path": "/"}}]),
        [
            {
                "controlName": "Volume Types",
                "restrictedField": "spec.volumes[*].nfs",
                "values": ["nothing"],
            }
        ],
        "pass",
    ),
    # Without images, a container control is matched through one fake container,
    # so it removes the error of one container only.
    (
        "container-control-without-images",
        "restricted",
        spec(
            hardened("a", allowPrivilegeEscalation=None),
            hardened("b", allowPrivilegeEscalation=None),
        ),
        [{"controlName": "Privilege Escalation"}],
        "fail",
    ),
    (
        "container-control-without-images-one-container",
        "restricted",
        spec(hardened("a", allowPrivilegeEscalation=None)),
        [{"controlName": "Privilege Escalation"}],
        "pass",
    ),
    # Entries apply in turn.
    (
        "several-entries",
        "baseline",
        spec(hardened(image=NGINX, privileged=True), hostPID=True),
        [
            {"controlName": "Host Namespaces"},
            {"controlName": "Privileged Containers", "images": [NGINX]},
        ],
        "pass",
    ),
    # Probe hosts carry no field errors, so no entry can excuse them.
    (
        "probe-host-not-excludable",
        "baseline",
        spec({**hardened(image=NGINX), "readinessProbe": {"tcpSocket": {"host": "db", "port": 1}}}),
        [{"controlName": "Host Ports", "images": ["*"]}, {"controlName": "HostProcess"}],
        "fail",
    ),
]


@pytest.mark.parametrize(
    ("level", "pod_spec", "exclude", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_exclusion_form(
    level: str, pod_spec: dict[str, Any], exclude: list[dict[str, Any]], expected: str
) -> None:
    assert status(level, pod_spec, *exclude) == expected


def test_image_exclusion_keeps_other_containers_failures() -> None:
    """Only the matched container's error goes; the rest is reported as before."""
    pod_spec = spec(hardened("a", NGINX, privileged=True), hardened("b", BUSYBOX, privileged=True))

    result = outcome(
        "baseline", pod_spec, {"controlName": "Privileged Containers", "images": ["*nginx*"]}
    )

    assert result.message == (
        "Validation rule 'psa' failed. It violates PodSecurity \"baseline:latest\": "
        "(Forbidden reason: privileged, field error list: [spec.containers[1].securityContext"
        ".privileged is forbidden, forbidden values found: true])"
    )
    assert [v.container for v in result.checks[0].violations] == ["b"]


def test_seccomp_exclusion_hides_unset_profiles() -> None:
    """Once a bad profile is excused, Kyverno forgets the containers with none at all."""
    pod_spec = spec(
        hardened("a", NGINX, seccompProfile={"type": "Unconfined"}),
        container(
            "b",
            BUSYBOX,
            allowPrivilegeEscalation=False,
            runAsNonRoot=True,
            capabilities={"drop": ["ALL"]},
        ),
    )

    assert status("restricted", pod_spec) == "fail"
    assert (
        status("restricted", pod_spec, {"controlName": "Seccomp", "images": ["*nginx*"]}) == "pass"
    )


def test_pod_level_seccomp_exclusion() -> None:
    pod_spec = spec(
        container(
            "a", allowPrivilegeEscalation=False, runAsNonRoot=True, capabilities={"drop": ["ALL"]}
        )
    )
    pod_spec["securityContext"] = {"seccompProfile": {"type": "Unconfined"}}
    field = "spec.securityContext.seccompProfile.type"

    excused = {"controlName": "Seccomp", "restrictedField": field, "values": ["Unconfined"]}
    assert status("restricted", pod_spec, excused) == "pass"
    assert status("restricted", pod_spec, {**excused, "values": ["Localhost"]}) == "fail"


def test_non_root_image_exclusion_keeps_pod_field() -> None:
    """Image exclusions see no pod-level fields, so a pod-level `false` still fails."""
    pod_spec = spec(
        container("a", NGINX, allowPrivilegeEscalation=False, capabilities={"drop": ["ALL"]})
    )
    pod_spec["securityContext"] = {
        "runAsNonRoot": False,
        "seccompProfile": {"type": "RuntimeDefault"},
    }

    result = outcome(
        "restricted", pod_spec, {"controlName": "Running as Non-root", "images": ["*"]}
    )

    assert [c.check_id for c in result.checks] == ["runAsNonRoot"]
    assert [v.path for v in result.checks[0].violations] == ["spec.securityContext.runAsNonRoot"]


def test_annotation_exclusion_matches_exact_key() -> None:
    key = "container.apparmor.security.beta.kubernetes.io/app"
    field = f"metadata.annotations[{key}]"
    excused = {"controlName": "AppArmor", "restrictedField": field, "values": ["unconfined"]}

    assert status("baseline", spec(), excused, annotations={key: "unconfined"}) == "pass"
    assert status("baseline", spec(), excused, annotations={key: "other"}) == "fail"
