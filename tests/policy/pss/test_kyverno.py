"""Kyverno's podSecurity rule: statuses, messages, versions, kinds and exceptions."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.pss import FieldViolation
from bot.policy.pss.kyverno import (
    PodSecurityException,
    PodSecurityOutcome,
    evaluate_pod_security,
    validate_pod_security,
)
from tests.policy.pss.builders import container, hardened, pod, spec

RESTRICTED = {"level": "restricted", "version": "latest"}
BASELINE = {"level": "baseline", "version": "latest"}
PREFIX = "Validation rule 'psa' failed. It violates PodSecurity \"restricted:latest\": "


def evaluate(
    pod_security: dict[str, Any], resource: dict[str, Any], **kwargs: Any
) -> PodSecurityOutcome:
    return evaluate_pod_security(pod_security, resource, rule_name="psa", **kwargs)


@pytest.mark.parametrize(
    ("pod_spec", "listed"),
    [
        (
            spec(
                container(
                    "app",
                    allowPrivilegeEscalation=False,
                    runAsNonRoot=True,
                    seccompProfile={"type": "RuntimeDefault"},
                )
            ),
            "(Forbidden reason: unrestricted capabilities, field error list: "
            "[spec.containers[0].securityContext.capabilities.drop: Required value])",
        ),
        (
            spec(hardened(allowPrivilegeEscalation=True)),
            "(Forbidden reason: allowPrivilegeEscalation != false, field error list: "
            "[spec.containers[0].securityContext.allowPrivilegeEscalation is forbidden, "
            "forbidden values found: true])",
        ),
        (
            spec(hardened(allowPrivilegeEscalation=None)),
            "(Forbidden reason: allowPrivilegeEscalation != false, field error list: "
            "[spec.containers[0].securityContext.allowPrivilegeEscalation is forbidden, "
            "forbidden values found: nil])",
        ),
        (
            spec(hardened(capabilities={"drop": ["ALL"], "add": ["SYS_TIME", "NET_ADMIN"]})),
            "(Forbidden reason: non-default capabilities, field error list: "
            "[spec.containers[0].securityContext.capabilities.add is forbidden, "
            "forbidden values found: [NET_ADMIN SYS_TIME]])"
            "(Forbidden reason: unrestricted capabilities, field error list: "
            "[spec.containers[0].securityContext.capabilities.add is forbidden, "
            "forbidden values found: [NET_ADMIN SYS_TIME]])",
        ),
        (
            spec(volumes=[{"name": "v", "hostPath": {"path": "/data"}}]),
            "(Forbidden reason: hostPath volumes, field error list: "
            "[spec.volumes[0].hostPath is forbidden, forbidden values found: /data])"
            "(Forbidden reason: restricted volume types, field error list: "
            "[spec.volumes[0].hostPath: Forbidden])",
        ),
        (
            spec(hardened(runAsUser=0, runAsNonRoot=False)),
            "(Forbidden reason: runAsNonRoot != true, field error list: "
            "[spec.containers[0].securityContext.runAsNonRoot is forbidden, "
            "forbidden values found: false])"
            "(Forbidden reason: runAsUser=0, field error list: "
            "[spec.containers[0].securityContext.runAsUser is forbidden, "
            "forbidden values found: 0])",
        ),
        (
            spec({**hardened(), "livenessProbe": {"httpGet": {"host": "127.0.0.1", "port": 80}}}),
            "(Forbidden reason: probe or lifecycle host, field error list: [])",
        ),
    ],
    ids=[
        "required",
        "forbidden-bool",
        "nil-text",
        "list",
        "both-volume-checks",
        "int-and-false",
        "no-errors",
    ],
)
def test_failure_message_lists_field_errors(pod_spec: dict[str, Any], listed: str) -> None:
    """Kyverno prints each check with its fork's field errors, back to back."""
    outcome = evaluate(RESTRICTED, pod(pod_spec))

    assert outcome.status == "fail"
    assert outcome.message == PREFIX + listed


def test_missing_security_context_is_required() -> None:
    """Without any securityContext, privilege escalation is `Required`, not `nil`."""
    outcome = evaluate(RESTRICTED, pod(spec(container("app"))))

    assert (
        "spec.containers[0].securityContext.allowPrivilegeEscalation: Required value"
        in outcome.message
    )


def test_pass_message_names_rule() -> None:
    outcome = evaluate(RESTRICTED, pod(spec()))

    assert (outcome.status, outcome.message, outcome.checks) == (
        "pass",
        "Validation rule 'psa' passed.",
        (),
    )


def test_baseline_skips_restricted_checks() -> None:
    outcome = evaluate(BASELINE, pod(spec(container("app"))))

    assert outcome.status == "pass"


def test_privileged_level_runs_every_check() -> None:
    """Kyverno only filters checks at baseline, so `privileged` runs restricted ones too."""
    outcome = evaluate({"level": "privileged"}, pod(spec(container("app"))))

    assert outcome.status == "fail"
    assert {c.check_id for c in outcome.checks} >= {"allowPrivilegeEscalation", "runAsNonRoot"}


def test_unset_version_means_latest_but_prints_empty() -> None:
    outcome = evaluate({"level": "baseline"}, pod(spec(hardened(privileged=True))))

    assert outcome.message.startswith(
        "Validation rule 'psa' failed. It violates PodSecurity \"baseline:\": "
    )


def test_bad_version_is_an_error() -> None:
    outcome = evaluate({"level": "baseline", "version": "v1.x"}, pod(spec()))

    assert (outcome.status, outcome.message) == (
        "error",
        'failed to parse pod security api version: must be "latest" or "v1.x"',
    )


@pytest.mark.parametrize(
    ("pod_spec", "version", "check"),
    [
        (
            spec(
                container(
                    "app",
                    allowPrivilegeEscalation=False,
                    runAsNonRoot=True,
                    seccompProfile={"type": "RuntimeDefault"},
                )
            ),
            "v1.19",
            "capabilities_restricted",
        ),
        (spec(hardened(runAsUser=0), hostUsers=False), "latest", "runAsUser"),
        (spec(hardened(runAsNonRoot=False), hostUsers=False), "latest", "runAsNonRoot"),
        (
            spec(securityContext={"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat"}]}),
            "latest",
            "sysctls",
        ),
    ],
    ids=[
        "first-revision-before-its-version",
        "no-user-namespace-relief",
        "no-user-namespace-relief-non-root",
        "sysctls-stop-at-1.32",
    ],
)
def test_kyverno_versions_differ_from_psa(
    pod_spec: dict[str, Any], version: str, check: str
) -> None:
    """Kyverno runs a check's first revision early, and knows no revision after v1.34."""
    outcome = evaluate({"level": "restricted", "version": version}, pod(pod_spec))

    assert check in {c.check_id for c in outcome.checks}


def test_deployment_paths_are_rewritten() -> None:
    resource = {
        "kind": "Deployment",
        "spec": {"template": {"spec": spec(hardened(privileged=True))}},
    }

    outcome = evaluate(BASELINE, resource)

    assert (
        "[spec.template.spec.containers[0].securityContext.privileged is forbidden"
        in outcome.message
    )
    assert outcome.checks[0].violations == (
        FieldViolation(
            "app",
            "spec.template.spec.containers[0].securityContext.privileged",
            True,
            (False, None),
        ),
    )


def test_pod_annotation_path_gets_template_prefix() -> None:
    """Kyverno rewrites `metadata` to `spec.template.metadata` even for a bare Pod."""
    metadata = {"annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}}

    outcome = evaluate(BASELINE, pod(spec(), **metadata))

    assert "[spec.template.metadata.annotations[container.apparmor" in outcome.message
    assert outcome.checks[0].violations[0].path.startswith("metadata.annotations[")


def test_cronjob_reads_job_template_metadata() -> None:
    """For a CronJob Kyverno takes annotations from the job template, not the pod template."""
    annotations = {
        "annotations": {"container.apparmor.security.beta.kubernetes.io/app": "unconfined"}
    }
    pod_template = {"metadata": annotations, "spec": spec()}
    resource = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": pod_template}}}}
    moved = {
        "kind": "CronJob",
        "spec": {"jobTemplate": {"metadata": annotations, "spec": {"template": {"spec": spec()}}}},
    }

    assert evaluate(BASELINE, resource).status == "pass"
    outcome = evaluate(BASELINE, moved)
    assert outcome.status == "fail"
    assert outcome.checks[0].violations[0].path.startswith("spec.jobTemplate.metadata.annotations[")


@pytest.mark.parametrize("kind", ["PodTemplate", "Service"])
def test_unsupported_kind_is_an_error(kind: str) -> None:
    outcome = evaluate(BASELINE, {"kind": kind, "template": {"spec": spec()}})

    assert (outcome.status, outcome.message) == (
        "error",
        "Error while getting new resource: could not find correct resource type",
    )


HOST_PATH_POD = pod(spec(volumes=[{"name": "v", "hostPath": {"path": "/var/lib/app"}}]))
HOST_PATH_EXCLUDE = {
    "controlName": "HostPath Volumes",
    "restrictedField": "spec.volumes[*].hostPath",
    "values": ["/var/lib/*"],
}


def test_exception_removing_everything_skips() -> None:
    exception = PodSecurityException("apps/allow-host-path", (HOST_PATH_EXCLUDE,))

    outcome = evaluate(BASELINE, HOST_PATH_POD, exceptions=[exception])

    assert (outcome.status, outcome.message) == (
        "skip",
        "rule is skipped due to policy exceptions apps/allow-host-path",
    )


def test_exception_without_pod_security_skips_rule() -> None:
    outcome = evaluate(BASELINE, HOST_PATH_POD, exceptions=[PodSecurityException("apps/all")])

    assert (outcome.status, outcome.message) == (
        "skip",
        "rule is skipped due to policy exception apps/all",
    )


def test_partial_exception_leaves_failure() -> None:
    exception = PodSecurityException("apps/ex", ({**HOST_PATH_EXCLUDE, "values": ["/opt/*"]},))

    outcome = evaluate(BASELINE, HOST_PATH_POD, exceptions=[exception])

    assert outcome.status == "fail"


@pytest.mark.parametrize(
    ("pod_security", "errors"),
    [
        (
            {"level": "restricted", "exclude": [{"controlName": "Capabilities", "images": ["a*"]}]},
            [],
        ),
        (
            {"level": "baseline", "exclude": [{"controlName": "Running as Non-root"}]},
            [
                'podSecurity.exclude[0].controlName: Invalid value: "Running as Non-root": '
                "Invalid control name defined at the given level"
            ],
        ),
        ({"level": "baseline", "exclude": [{"controlName": "Seccomp"}]}, []),
        (
            {"level": "restricted", "exclude": [{"controlName": "Privilege Escalation"}]},
            [
                'podSecurity.exclude[0].controlName: Invalid value: "Privilege Escalation": '
                "exclude.images must be specified for the container level control"
            ],
        ),
        (
            {"level": "restricted", "exclude": [{"controlName": "Sysctls", "images": ["*"]}]},
            [
                'podSecurity.exclude[0].controlName: Invalid value: "Sysctls": '
                "exclude.images must not be specified for the pod level control"
            ],
        ),
        (
            {
                "level": "restricted",
                "exclude": [
                    {
                        "controlName": "Seccomp",
                        "restrictedField": "spec.securityContext.seccompProfile.type",
                    }
                ],
            },
            ["podSecurity.exclude[0].values: Forbidden: values is required"],
        ),
        (
            {
                "level": "restricted",
                "exclude": [{"controlName": "Seccomp", "values": ["Unconfined"]}],
            },
            ["podSecurity.exclude[0].restrictedField: Forbidden: restrictedField is required"],
        ),
        (
            {"level": "restricted", "version": "v1.33"},
            [
                'validate.podSecurity.version: Unsupported value: "v1.33": supported values: '
                '"v1.19", "v1.20", "v1.21", "v1.22", "v1.23", "v1.24", "v1.25", "v1.26", "v1.27", '
                '"v1.28", "v1.29", "v1.30", "v1.31", "v1.32", "latest"'
            ],
        ),
    ],
    ids=[
        "valid",
        "restricted-control-at-baseline",
        "seccomp-at-baseline",
        "images-required",
        "images-forbidden",
        "values-required",
        "field-required",
        "version-enum",
    ],
)
def test_policy_validation(pod_security: dict[str, Any], errors: list[str]) -> None:
    """Kyverno refuses these rules when the policy is created."""
    assert validate_pod_security(pod_security) == errors
