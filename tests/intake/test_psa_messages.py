"""Pod Security Admission's denials, warnings and annotations."""

from __future__ import annotations

import pytest

from bot.intake import parse, psa_messages
from bot.intake.violations import ResourceRef
from bot.policy.pss import evaluate_pod, format_psa_message
from tests.intake.conftest import only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("privileged", [("privileged", "")]),
        (
            'host namespaces (hostNetwork=true, hostPID=true), hostPort (container "a" uses 80)',
            [
                ("host namespaces", "hostNetwork=true, hostPID=true"),
                ("hostPort", 'container "a" uses 80'),
            ],
        ),
        (
            'unrestricted capabilities (containers "a", "b" must set drop=["ALL"]; container "c" '
            'must not include "SYS_ADMIN", "NET_RAW" in add), seccompProfile',
            [
                (
                    "unrestricted capabilities",
                    'containers "a", "b" must set drop=["ALL"]; container "c" must not include '
                    '"SYS_ADMIN", "NET_RAW" in add',
                ),
                ("seccompProfile", ""),
            ],
        ),
        (
            "forbidden sysctls (kernel.msgmax, net.core.x), seLinuxOptions (pod and container "
            '"a" set forbidden securityContext.seLinuxOptions: type "spc_t")',
            [
                ("forbidden sysctls", "kernel.msgmax, net.core.x"),
                (
                    "seLinuxOptions",
                    'pod and container "a" set forbidden securityContext.seLinuxOptions: '
                    'type "spc_t"',
                ),
            ],
        ),
    ],
)
def test_checks_split_outside_parentheses_only(text, expected):
    """Commas inside details and quotes never split a check."""
    assert psa_messages.split_checks(text) == expected


@pytest.mark.parametrize(
    ("detail", "containers"),
    [
        ('container "a" must set x', ("a",)),
        ('containers "a", "b" must set x', ("a", "b")),
        ('pod or containers "a", "b" must set x; container "c" must not', ("a", "b", "c")),
        ("hostNetwork=true, hostPID=true", ()),
        ('volume "data" uses restricted volume type "hostPath"', ()),
        ('initContainers are fine, container "x\\"y" too', ('x\\"y',)),
    ],
)
def test_containers_are_the_quoted_names(detail, containers):
    assert psa_messages.containers_in(detail) == containers


def test_denial_gives_one_violation_per_check():
    record = only(
        parse(
            'Error from server (Forbidden): error when creating "p.yaml": pods "web" is '
            'forbidden: violates PodSecurity "baseline:v1.29": host namespaces '
            '(hostNetwork=true), privileged (container "web" must not set '
            "securityContext.privileged=true)"
        )
    )

    assert (record.engine, record.action, record.resource) == (
        "psa",
        "deny",
        ResourceRef("Pod", None, "web"),
    )
    assert [(v.policy, v.rule, v.containers) for v in record.violations] == [
        ("baseline:v1.29", "host namespaces", ()),
        ("baseline:v1.29", "privileged", ("web",)),
    ]


def test_warning_takes_its_object_from_the_created_line():
    records = parse(
        'Warning: would violate PodSecurity "restricted:latest": seccompProfile (pod or '
        'container "a" must set securityContext.seccompProfile.type)\n'
        "deployment.apps/web created\n"
    )

    assert [(r.action, r.resource) for r in records] == [
        ("warn", ResourceRef("Deployment", None, "web"))
    ]


def test_audit_annotation_is_an_audit_finding():
    record = psa_messages.from_annotation(
        psa_messages.ANNOTATION_VIOLATIONS,
        'would violate PodSecurity "restricted:latest": runAsNonRoot != true (pod or '
        'container "a" must set securityContext.runAsNonRoot=true)',
    )

    assert record is not None
    assert (record.action, record.violations[0].policy) == ("audit", "restricted:latest")


def test_beta_annotation_has_no_level():
    record = psa_messages.from_annotation(psa_messages.ANNOTATION_BETA, "privileged (x)")

    assert record is not None
    assert [(v.policy, v.rule) for v in record.violations] == [(None, "privileged")]


def test_other_annotations_are_ignored():
    assert psa_messages.from_annotation("pod-security.kubernetes.io/enforce-policy", "x") is None


def test_namespace_warnings_give_one_record_per_pod():
    """Pods behind "(and N other pods)" are not named, so they get no record."""
    records = parse(
        'Warning: existing pods in namespace "shop" violate the new PodSecurity enforce level '
        '"baseline:latest"\n'
        "Warning: web-1 (and 2 other pods): privileged, hostPath volumes\n"
        "Warning: db-0: host namespaces\n"
        "namespace/shop labeled\n"
        'Warning: existing pods in namespace "empty" violate the new PodSecurity enforce level '
        '"baseline:latest"\n'
    )

    assert [(r.resource, [v.rule for v in r.violations]) for r in records] == [
        (ResourceRef("Pod", "shop", "web-1"), ["privileged", "hostPath volumes"]),
        (ResourceRef("Pod", "shop", "db-0"), ["host namespaces"]),
        (ResourceRef("Pod", "empty", None), [None]),
    ]


@pytest.mark.parametrize(
    ("reason", "level", "ids"),
    [
        ("allowPrivilegeEscalation != false", "restricted:latest", ("allowPrivilegeEscalation",)),
        (
            "seccompProfile",
            "restricted:latest",
            ("seccompProfile_restricted", "seccompProfile_baseline"),
        ),
        (
            "seccompProfile",
            "baseline:v1.30",
            ("seccompProfile_baseline", "seccompProfile_restricted"),
        ),
        ("probeHost", None, ("hostProbesAndHostLifecycle",)),
        ("no such check", None, ()),
    ],
)
def test_reasons_map_to_check_ids(reason, level, ids):
    """The knowledge base keys Pod Security entries by check ID, level-aware."""
    assert psa_messages.check_ids(reason, level) == ids


@pytest.mark.parametrize(
    ("policy", "pair"),
    [
        ("restricted:v1.29", ("restricted", "v1.29")),
        ("baseline", ("baseline", "latest")),
        (None, ("restricted", "latest")),
    ],
)
def test_level_and_version_split(policy, pair):
    assert psa_messages.split_level(policy) == pair


# A pod failing every restricted check our engine knows, to hold the parser to
# the engine's own rendering of PSA's denial.
EVERYTHING_WRONG = (
    {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": "unconfined"}},
    {
        "hostNetwork": True,
        "hostPID": True,
        "securityContext": {
            "runAsUser": 0,
            "sysctls": [{"name": "kernel.msgmax", "value": "1"}],
            "seLinuxOptions": {"type": "spc_t"},
            "seccompProfile": {"type": "Unconfined"},
            "windowsOptions": {"hostProcess": True},
        },
        "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
        "containers": [
            {
                "name": "a",
                "image": "x",
                "ports": [{"containerPort": 80, "hostPort": 80}],
                "livenessProbe": {"httpGet": {"host": "1.2.3.4", "port": 80}},
                "securityContext": {
                    "privileged": True,
                    "allowPrivilegeEscalation": True,
                    "capabilities": {"add": ["SYS_ADMIN"]},
                    "procMount": "Unmasked",
                    "runAsNonRoot": False,
                },
            },
            {"name": "b", "image": "y"},
        ],
    },
)


def _failed_checks():
    metadata, spec = EVERYTHING_WRONG
    results = evaluate_pod(metadata, spec, level="restricted", version="latest")
    return [result for result in results if not result.allowed]


def test_engine_rendered_denial_parses_back_check_by_check():
    """Every check the engine fails comes back with its reason and printed containers.

    PSA prints only some of the offending containers for some checks (explicit
    runAsNonRoot=false hides the implicit ones), so the parsed names are a
    subset of those the engine would fix.
    """
    failed = _failed_checks()
    text = 'pods "p" is forbidden: ' + format_psa_message(
        failed, level="restricted", version="latest"
    )

    record = only(parse(text))

    assert [v.rule for v in record.violations] == [check.reason for check in failed]
    for violation, check in zip(record.violations, failed, strict=True):
        assert set(violation.containers) <= {fv.container for fv in check.violations}
    by_rule = {violation.rule: violation.containers for violation in record.violations}
    assert by_rule["unrestricted capabilities"] == ("a", "b")
    assert by_rule["forbidden AppArmor profile"] == ()


def test_every_reason_the_engine_prints_maps_to_its_check_id():
    """The table of reasons stays complete as the engine learns checks."""
    for check in _failed_checks():
        assert psa_messages.check_ids(check.reason, "restricted:latest")[0] == check.check_id
