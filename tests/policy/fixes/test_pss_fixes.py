"""Fixes for Pod Security Standards checks: exact patches per check, proven by evaluation."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.knowledge import catalog
from bot.policy.fixes import pss_fixes
from bot.policy.fixes.patches import apply_patch
from bot.policy.fixes.proposals import ProposedFix
from bot.policy.fixes.pss_edits import format_path, parse_path
from bot.policy.fixes.pss_host_fixes import CLAIM_PLACEHOLDER
from bot.policy.pss import CheckResult, catalogue, evaluate_pod, pod_parts
from bot.policy.pss.kyverno import evaluate_pod_security
from tests.policy.pss.builders import container, hardened, pod, spec

RESTRICTED = {"level": "restricted", "version": "latest"}
APPARMOR_KEY = "container.apparmor.security.beta.kubernetes.io/app"
KNOWLEDGE_FILE = Path(catalog.bundled_root()) / "explanations" / "pod-security-standards.yaml"


def hardened_without(
    *keys: str, name: str = "app", image: str = "nginx:1.27", **overrides: Any
) -> dict[str, Any]:
    """A restricted-proof container with some of its securityContext taken away."""
    body = hardened(name, image, **overrides)
    for key in keys:
        del body["securityContext"][key]
    return body


def deployment(pod_spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"metadata": metadata, "spec": pod_spec}},
    }


def failing(resource: dict[str, Any], *, level: str, version: str = "latest") -> list[str]:
    parts = pod_parts(resource)
    assert parts is not None
    results = evaluate_pod(parts[0], parts[1], level=level, version=version)
    return [result.check_id for result in results if not result.allowed]


def patched(resource: dict[str, Any], fix: ProposedFix | None) -> dict[str, Any]:
    assert fix is not None
    result: dict[str, Any] = apply_patch(resource, fix.ops)
    return result


def op_list(fix: ProposedFix | None) -> list[dict[str, Any]]:
    assert fix is not None
    return [op.to_json() for op in fix.ops]


def add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


def replace(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


def remove(path: str) -> dict[str, Any]:
    return {"op": "remove", "path": path}


C0 = "/spec/containers/0/securityContext"

# One pod per check, failing that check alone, with the exact patch expected.
CASES: list[tuple[str, str, str, dict[str, Any], dict[str, Any], list[dict[str, Any]]]] = [
    (
        "allowPrivilegeEscalation",
        "restricted",
        "latest",
        spec(hardened_without("allowPrivilegeEscalation")),
        {},
        [add(f"{C0}/allowPrivilegeEscalation", False)],
    ),
    (
        "allowPrivilegeEscalation",
        "restricted",
        "v1.24",
        spec(hardened(allowPrivilegeEscalation=True)),
        {},
        [replace(f"{C0}/allowPrivilegeEscalation", False)],
    ),
    (
        "appArmorProfile",
        "baseline",
        "latest",
        spec(container(appArmorProfile={"type": "Unconfined"})),
        {},
        [replace(f"{C0}/appArmorProfile", {"type": "RuntimeDefault"})],
    ),
    (
        "appArmorProfile",
        "baseline",
        "latest",
        spec(container()),
        {"annotations": {APPARMOR_KEY: "unconfined"}},
        [replace(f"/metadata/annotations/{APPARMOR_KEY.replace('/', '~1')}", "runtime/default")],
    ),
    (
        "capabilities_baseline",
        "baseline",
        "latest",
        spec(container(capabilities={"add": ["NET_ADMIN", "CHOWN", "SYS_ADMIN"]})),
        {},
        [remove(f"{C0}/capabilities/add/2"), remove(f"{C0}/capabilities/add/0")],
    ),
    (
        "capabilities_baseline",
        "baseline",
        "latest",
        spec(container(capabilities={"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]})),
        {},
        [remove(f"{C0}/capabilities/add")],
    ),
    (
        "capabilities_restricted",
        "restricted",
        "latest",
        spec(hardened(capabilities={"drop": ["NET_RAW"]})),
        {},
        [add(f"{C0}/capabilities/drop/-", "ALL")],
    ),
    (
        "capabilities_restricted",
        "restricted",
        "latest",
        spec(hardened_without("capabilities")),
        {},
        [add(f"{C0}/capabilities", {"drop": ["ALL"]})],
    ),
    (
        "capabilities_restricted",
        "restricted",
        "latest",
        spec(hardened(capabilities={"drop": ["ALL"], "add": ["SYS_TIME", "NET_BIND_SERVICE"]})),
        {},
        [remove(f"{C0}/capabilities/add/0")],
    ),
    (
        "hostNamespaces",
        "baseline",
        "latest",
        spec(container(), hostNetwork=True, hostIPC=True, hostPID=False),
        {},
        [remove("/spec/hostNetwork"), remove("/spec/hostIPC")],
    ),
    (
        "hostPorts",
        "baseline",
        "latest",
        spec({"name": "app", "ports": [{"containerPort": 80, "hostPort": 8080}]}),
        {},
        [remove("/spec/containers/0/ports/0/hostPort")],
    ),
    (
        "hostProbesAndHostLifecycle",
        "baseline",
        "latest",
        spec(
            {
                "name": "app",
                "livenessProbe": {"httpGet": {"host": "10.0.0.1", "port": 80}},
                "lifecycle": {"preStop": {"tcpSocket": {"host": "db", "port": 5432}}},
            }
        ),
        {},
        [
            remove("/spec/containers/0/livenessProbe/httpGet/host"),
            remove("/spec/containers/0/lifecycle/preStop/tcpSocket/host"),
        ],
    ),
    (
        "privileged",
        "baseline",
        "latest",
        spec(container(privileged=True)),
        {},
        [replace(f"{C0}/privileged", False)],
    ),
    (
        "procMount",
        "baseline",
        "latest",
        spec(container(procMount="Unmasked")),
        {},
        [replace(f"{C0}/procMount", "Default")],
    ),
    (
        "procMount_restricted",
        "restricted",
        "latest",
        spec(hardened(procMount="Unmasked"), hostUsers=False),
        {},
        [replace(f"{C0}/procMount", "Default")],
    ),
    (
        "runAsNonRoot",
        "restricted",
        "latest",
        spec(hardened_without("runAsNonRoot"), init=(hardened_without("runAsNonRoot"),)),
        {},
        [add("/spec/securityContext", {"runAsNonRoot": True})],
    ),
    (
        "runAsNonRoot",
        "restricted",
        "latest",
        spec(hardened(runAsNonRoot=False), hardened("side")),
        {},
        [replace(f"{C0}/runAsNonRoot", True)],
    ),
    (
        "runAsNonRoot",
        "restricted",
        "latest",
        spec(hardened_without("runAsNonRoot"), securityContext={"runAsNonRoot": False}),
        {},
        [replace("/spec/securityContext/runAsNonRoot", True)],
    ),
    (
        "runAsUser",
        "restricted",
        "latest",
        spec(hardened(runAsUser=0), securityContext={"runAsUser": 0, "fsGroup": 2000}),
        {},
        [remove("/spec/securityContext/runAsUser"), remove(f"{C0}/runAsUser")],
    ),
    (
        "seLinuxOptions",
        "baseline",
        "latest",
        spec(container(seLinuxOptions={"type": "spc_t", "level": "s0:c1"})),
        {},
        [remove(f"{C0}/seLinuxOptions/type")],
    ),
    (
        "seLinuxOptions",
        "baseline",
        "latest",
        spec(container(), securityContext={"seLinuxOptions": {"user": "me", "role": "r"}}),
        {},
        [remove("/spec/securityContext/seLinuxOptions")],
    ),
    (
        "seccompProfile_baseline",
        "baseline",
        "latest",
        spec(container(seccompProfile={"type": "Unconfined"})),
        {},
        [replace(f"{C0}/seccompProfile", {"type": "RuntimeDefault"})],
    ),
    (
        "seccompProfile_baseline",
        "baseline",
        "v1.18",
        spec(container()),
        {"annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}},
        [
            replace(
                "/metadata/annotations/seccomp.security.alpha.kubernetes.io~1pod",
                "runtime/default",
            )
        ],
    ),
    (
        "seccompProfile_restricted",
        "restricted",
        "latest",
        spec(hardened_without("seccompProfile"), hardened_without("seccompProfile", name="b")),
        {},
        [add("/spec/securityContext", {"seccompProfile": {"type": "RuntimeDefault"}})],
    ),
    (
        "seccompProfile_restricted",
        "restricted",
        "latest",
        spec(
            hardened(seccompProfile={"type": "Localhost", "localhostProfile": "p.json"}),
            securityContext={"seccompProfile": {"type": "Unconfined"}},
        ),
        {},
        [replace("/spec/securityContext/seccompProfile", {"type": "RuntimeDefault"})],
    ),
    (
        "seccompProfile_restricted",
        "restricted",
        "latest",
        spec(
            hardened_without("seccompProfile"),
            securityContext={"seccompProfile": {"type": "Unconfined"}},
        ),
        {},
        [replace("/spec/securityContext/seccompProfile", {"type": "RuntimeDefault"})],
    ),
    (
        "sysctls",
        "baseline",
        "latest",
        spec(
            container(),
            securityContext={
                "sysctls": [
                    {"name": "kernel.msgmax", "value": "1"},
                    {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                    {"name": "vm.swappiness", "value": "1"},
                ]
            },
        ),
        {},
        [
            remove("/spec/securityContext/sysctls/2"),
            remove("/spec/securityContext/sysctls/0"),
        ],
    ),
    (
        "sysctls",
        "baseline",
        "v1.26",
        spec(
            container(),
            securityContext={"sysctls": [{"name": "net.ipv4.tcp_keepalive_time", "value": "60"}]},
        ),
        {},
        [remove("/spec/securityContext/sysctls")],
    ),
    (
        "windowsHostProcess",
        "baseline",
        "latest",
        spec(
            container(windowsOptions={"hostProcess": True}),
            securityContext={"windowsOptions": {"hostProcess": True}},
        ),
        {},
        [
            replace("/spec/securityContext/windowsOptions/hostProcess", False),
            replace(f"{C0}/windowsOptions/hostProcess", False),
        ],
    ),
]


@pytest.mark.parametrize(
    ("check_id", "level", "version", "pod_spec", "metadata", "expected"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_each_check_gets_exact_patch(
    check_id: str,
    level: str,
    version: str,
    pod_spec: dict[str, Any],
    metadata: dict[str, Any],
    expected: list[dict[str, Any]],
) -> None:
    resource = pod(pod_spec, **metadata)
    assert failing(resource, level=level, version=version) == [check_id]

    fix = pss_fixes.fix_psa(resource, level=level, version=version)

    assert op_list(fix) == expected
    assert fix is not None
    assert fix.placeholders == ()
    assert len(fix.summary) >= 1
    assert failing(patched(resource, fix), level=level, version=version) == []


@pytest.mark.parametrize(
    ("volume", "replacement", "placeholder"),
    [
        (
            {"name": "logs", "hostPath": {"path": "/var/log"}},
            {"name": "logs", "emptyDir": {}},
            "/spec/volumes/0",
        ),
        (
            {"name": "repo", "gitRepo": {"repository": "https://example.com/r.git"}},
            {"name": "repo", "emptyDir": {}},
            "/spec/volumes/0",
        ),
        (
            {"name": "share", "nfs": {"server": "nfs.local", "path": "/exports"}},
            {"name": "share", "persistentVolumeClaim": {"claimName": CLAIM_PLACEHOLDER}},
            "/spec/volumes/0/persistentVolumeClaim/claimName",
        ),
    ],
)
def test_volume_fix_is_guided(
    volume: dict[str, Any], replacement: dict[str, Any], placeholder: str
) -> None:
    resource = pod(spec(hardened(), volumes=[volume, {"name": "tmp", "emptyDir": {}}]))

    fix = pss_fixes.fix_psa(resource, level="restricted")

    assert op_list(fix) == [replace("/spec/volumes/0", replacement)]
    assert fix is not None
    assert fix.placeholders == (placeholder,)
    assert failing(patched(resource, fix), level="restricted") == []


def test_hostpath_fails_baseline_too() -> None:
    resource = pod(spec(container(), volumes=[{"name": "h", "hostPath": {"path": "/"}}]))

    fix = pss_fixes.fix_psa(resource, level="baseline")

    assert fix is not None
    assert fix.placeholders == ("/spec/volumes/0",)
    assert failing(patched(resource, fix), level="baseline") == []


def test_bare_container_gets_one_security_context() -> None:
    resource = pod(spec(container()))

    fix = pss_fixes.fix_psa(resource, level="restricted")

    assert op_list(fix) == [
        add(C0, {"capabilities": {"drop": ["ALL"]}}),
        add("/spec/securityContext", {"runAsNonRoot": True}),
        add("/spec/securityContext/seccompProfile", {"type": "RuntimeDefault"}),
        add(f"{C0}/allowPrivilegeEscalation", False),
    ]
    assert failing(patched(resource, fix), level="restricted") == []


def test_null_security_context_is_replaced() -> None:
    resource = pod(spec({"name": "app", "securityContext": None}))

    fix = pss_fixes.fix_psa(resource, level="restricted")

    assert op_list(fix)[0] == replace(C0, {"capabilities": {"drop": ["ALL"]}})
    assert failing(patched(resource, fix), level="restricted") == []


def test_deployment_ops_use_template_path() -> None:
    resource = deployment(spec(container(privileged=True)), annotations={APPARMOR_KEY: "x"})

    fix = pss_fixes.fix_psa(resource, level="baseline")

    assert op_list(fix) == [
        replace("/spec/template/spec/containers/0/securityContext/privileged", False),
        replace(
            f"/spec/template/metadata/annotations/{APPARMOR_KEY.replace('/', '~1')}",
            "runtime/default",
        ),
    ]
    assert failing(patched(resource, fix), level="baseline") == []


def test_summary_names_container_and_field() -> None:
    resource = pod(spec(hardened(), hardened_without("allowPrivilegeEscalation", name="side")))

    fix = pss_fixes.fix_psa(resource, level="restricted")

    assert fix is not None
    assert fix.summary == (
        'container "side": set securityContext.allowPrivilegeEscalation to false',
    )


def test_compliant_pod_gets_no_fix() -> None:
    assert pss_fixes.fix_psa(pod(spec(hardened())), level="restricted") is None
    assert pss_fixes.fix_psa(pod(spec(container(privileged=True))), level="privileged") is None


def test_unchecked_kind_gets_no_fix() -> None:
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}

    assert pss_fixes.fix_psa(config_map, level="restricted") is None
    assert pss_fixes.fix_pod_security(config_map, RESTRICTED) is None
    assert pss_fixes.fix_checks(config_map, []) is None


@pytest.mark.parametrize(("level", "version"), [("strict", "latest"), ("baseline", "1.25")])
def test_bad_level_or_version_raises(level: str, version: str) -> None:
    for resource in (pod(spec()), {"kind": "Service"}):
        with pytest.raises(ValueError, match="must be"):
            pss_fixes.fix_psa(resource, level=level, version=version)


def test_fix_checks_fixes_only_given_checks() -> None:
    resource = deployment(spec(container(privileged=True, procMount="Unmasked")))
    parts = pod_parts(resource)
    assert parts is not None
    results = evaluate_pod(parts[0], parts[1], level="baseline")
    privileged = [r for r in results if r.check_id == "privileged"]

    fix = pss_fixes.fix_checks(resource, privileged)

    assert op_list(fix) == [
        replace("/spec/template/spec/containers/0/securityContext/privileged", False)
    ]
    assert failing(patched(resource, fix), level="baseline") == ["procMount"]


def test_fix_checks_ignores_passing_results() -> None:
    resource = pod(spec(container()))
    parts = pod_parts(resource)
    assert parts is not None

    results = evaluate_pod(parts[0], parts[1], level="baseline")

    assert pss_fixes.fix_checks(resource, results) is None


def test_unknown_check_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    made_up = CheckResult("futureCheck", "baseline", False, "future", "detail")

    with caplog.at_level(logging.WARNING):
        fix = pss_fixes.fix_checks(pod(spec(container())), [made_up])

    assert fix is None
    assert "No fix is known for the Pod Security check futureCheck." in caplog.messages


def test_partial_results_are_reported_unproven(caplog: pytest.LogCaptureFixture) -> None:
    resource = pod(spec(container("a", privileged=True), container("b", privileged=True)))
    parts = pod_parts(resource)
    assert parts is not None
    result = next(r for r in evaluate_pod(parts[0], parts[1], level="baseline") if not r.allowed)
    first_only = CheckResult(
        result.check_id, result.level, False, result.reason, result.detail, result.violations[:1]
    )

    with caplog.at_level(logging.WARNING):
        fix = pss_fixes.fix_checks(resource, [first_only])

    assert op_list(fix) == [replace(f"{C0}/privileged", False)]
    assert "A Pod Security fix leaves checks failing: privileged." in caplog.messages


@pytest.mark.parametrize(
    ("path", "segments"),
    [
        ("spec.containers[0].securityContext", ("spec", "containers", 0, "securityContext")),
        (f"metadata.annotations[{APPARMOR_KEY}]", ("metadata", "annotations", APPARMOR_KEY)),
        ("spec.volumes[12].nfs", ("spec", "volumes", 12, "nfs")),
    ],
)
def test_paths_round_trip(path: str, segments: tuple[str | int, ...]) -> None:
    assert parse_path(path) == segments
    assert format_path(segments) == path


# Kyverno's podSecurity rule.


def cronjob(pod_spec: dict[str, Any], *, job_metadata: dict[str, Any]) -> dict[str, Any]:
    template = {"metadata": {}, "spec": pod_spec}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "nightly"},
        "spec": {
            "schedule": "0 1 * * *",
            "jobTemplate": {"metadata": job_metadata, "spec": {"template": template}},
        },
    }


def test_pod_security_fix_passes_the_rule() -> None:
    resource = deployment(spec(container("app", privileged=True), container("side")))

    fix = pss_fixes.fix_pod_security(resource, RESTRICTED, rule_name="psa")

    after = evaluate_pod_security(RESTRICTED, patched(resource, fix), rule_name="psa")
    assert after.status == "pass"
    assert fix is not None
    assert fix.placeholders == ()


def test_cronjob_annotation_fixed_where_kyverno_reads_it() -> None:
    resource = cronjob(spec(container()), job_metadata={"annotations": {APPARMOR_KEY: "x"}})
    rule = {"level": "baseline", "version": "latest"}

    fix = pss_fixes.fix_pod_security(resource, rule)

    key = APPARMOR_KEY.replace("/", "~1")
    assert op_list(fix) == [
        replace(f"/spec/jobTemplate/metadata/annotations/{key}", "runtime/default")
    ]
    assert evaluate_pod_security(rule, patched(resource, fix)).status == "pass"


def test_excluded_container_keeps_its_settings() -> None:
    rule = {
        **RESTRICTED,
        "exclude": [
            {"controlName": "Capabilities", "images": ["nginx*"]},
            {"controlName": "Running as Non-root", "images": ["nginx*"]},
        ],
    }
    resource = pod(
        spec(
            hardened_without("runAsNonRoot", capabilities={"add": ["NET_ADMIN"]}),
            hardened_without("runAsNonRoot", name="side", image="busybox:1.36"),
        )
    )

    fix = pss_fixes.fix_pod_security(resource, rule)

    assert op_list(fix) == [
        add("/spec/containers/1/securityContext/runAsNonRoot", True),
    ]
    assert evaluate_pod_security(rule, patched(resource, fix)).status == "pass"


def test_hidden_seccomp_failures_fixed_next_round() -> None:
    """Kyverno reports unset profiles only once no profile is forbidden."""
    resource = pod(
        spec(
            hardened(seccompProfile={"type": "Unconfined"}),
            hardened_without("seccompProfile", name="side"),
        )
    )
    before = evaluate_pod_security(RESTRICTED, resource)
    restricted = [c for c in before.checks if c.check_id == "seccompProfile_restricted"]
    assert [v.container for v in restricted[0].violations] == ["app"]

    fix = pss_fixes.fix_pod_security(resource, RESTRICTED)

    assert evaluate_pod_security(RESTRICTED, patched(resource, fix)).status == "pass"


def test_excluded_container_keeps_inheriting_seccomp() -> None:
    rule = {**RESTRICTED, "exclude": [{"controlName": "Seccomp", "images": ["nginx*"]}]}
    resource = pod(
        spec(
            hardened_without("seccompProfile"),
            hardened_without("seccompProfile", name="side", image="busybox:1.36"),
        )
    )

    fix = pss_fixes.fix_pod_security(resource, rule)

    assert op_list(fix) == [
        add("/spec/containers/1/securityContext/seccompProfile", {"type": "RuntimeDefault"})
    ]
    assert evaluate_pod_security(rule, patched(resource, fix)).status == "pass"


def test_hostpath_failing_two_checks_is_replaced_once() -> None:
    """Kyverno runs hostPathVolumes next to restrictedVolumes; both name the volume."""
    resource = pod(spec(hardened(), volumes=[{"name": "h", "hostPath": {"path": "/data"}}]))
    before = evaluate_pod_security(RESTRICTED, resource)
    assert [c.check_id for c in before.checks] == ["hostPathVolumes", "restrictedVolumes"]

    fix = pss_fixes.fix_pod_security(resource, RESTRICTED)

    assert op_list(fix) == [replace("/spec/volumes/0", {"name": "h", "emptyDir": {}})]
    assert evaluate_pod_security(RESTRICTED, patched(resource, fix)).status == "pass"


def test_kept_privilege_is_flagged_for_review() -> None:
    rule = {**RESTRICTED, "exclude": [{"controlName": "Privileged Containers", "images": ["*"]}]}
    resource = pod(spec(hardened_without("allowPrivilegeEscalation", privileged=True)))

    fix = pss_fixes.fix_pod_security(resource, rule)

    assert fix is not None
    assert fix.placeholders == (f"{C0}/allowPrivilegeEscalation",)
    assert "does not accept" in fix.summary[-1]


def test_failed_rule_evaluation_gets_no_fix() -> None:
    rule = {"level": "restricted", "version": "v2.0"}

    assert pss_fixes.fix_pod_security(pod(spec(container())), rule) is None


# Properties over generated workloads.

CAPABILITIES = ("ALL", "NET_BIND_SERVICE", "NET_RAW", "SYS_ADMIN", "CHOWN", "SYS_TIME")
SYSCTLS = ("kernel.shm_rmid_forced", "net.ipv4.tcp_keepalive_time", "kernel.msgmax", "vm.x")
VERSIONS = ("latest", "v1.18", "v1.22", "v1.24", "v1.30", "v1.35")


def optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A value, or the marker for a key left out."""
    return st.one_of(st.just(None), strategy)


def fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping holding some of the given keys; a None draw leaves the key out."""
    drawn = st.fixed_dictionaries({k: optional(v) for k, v in strategies.items()})
    return drawn.map(lambda d: {k: v for k, v in d.items() if v is not None})


profiles = st.sampled_from(
    [
        {"type": "RuntimeDefault"},
        {"type": "Unconfined"},
        {"type": "Localhost", "localhostProfile": "p"},
    ]
)
selinux = st.sampled_from(
    [{"type": "spc_t"}, {"type": "container_t", "level": "s0"}, {"user": "u"}]
)
booleans = st.booleans()
user_ids = st.sampled_from([0, 1000])

security_contexts = fields(
    privileged=booleans,
    allowPrivilegeEscalation=booleans,
    runAsNonRoot=booleans,
    runAsUser=user_ids,
    procMount=st.sampled_from(["Default", "Unmasked"]),
    seccompProfile=profiles,
    appArmorProfile=profiles,
    seLinuxOptions=selinux,
    windowsOptions=st.just({"hostProcess": True}),
    capabilities=fields(
        add=st.lists(st.sampled_from(CAPABILITIES), max_size=3),
        drop=st.lists(st.sampled_from(CAPABILITIES), max_size=2),
    ),
)


@st.composite
def containers(draw: st.DrawFn, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "image": draw(st.sampled_from(["nginx", "busybox"]))}
    context = draw(st.one_of(st.just("absent"), st.just(None), security_contexts))
    if context != "absent":
        body["securityContext"] = context
    if draw(booleans):
        body["ports"] = [{"containerPort": 80, "hostPort": draw(st.sampled_from([0, 8080]))}]
    if draw(booleans):
        body["readinessProbe"] = {"httpGet": {"port": 80, "host": draw(st.sampled_from(["", "h"]))}}
    return body


volumes: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {"emptyDir": {}},
        {"hostPath": {"path": "/"}},
        {"nfs": {"server": "s", "path": "/"}},
        {"configMap": {"name": "c"}},
        {"gitRepo": {"repository": "r"}},
    ]
)


@st.composite
def workloads(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 3))
    pod_spec: dict[str, Any] = {"containers": [draw(containers(f"c{i}")) for i in range(count)]}
    if draw(booleans):
        pod_spec["initContainers"] = [draw(containers("init"))]
    pod_spec.update(
        draw(
            fields(
                hostNetwork=booleans,
                hostPID=booleans,
                hostIPC=booleans,
                hostUsers=booleans,
                os=st.just({"name": "windows"}),
            )
        )
    )
    pod_context = draw(
        fields(
            runAsNonRoot=booleans,
            runAsUser=user_ids,
            seccompProfile=profiles,
            seLinuxOptions=selinux,
            sysctls=st.lists(st.sampled_from(SYSCTLS), max_size=3).map(
                lambda names: [{"name": n, "value": "1"} for n in names]
            ),
        )
    )
    if pod_context:
        pod_spec["securityContext"] = pod_context
    chosen = draw(st.lists(volumes, max_size=3))
    if chosen:
        pod_spec["volumes"] = [{"name": f"v{i}", **v} for i, v in enumerate(chosen)]
    annotations = draw(
        fields(
            **{
                "container.apparmor.security.beta.kubernetes.io/c0": st.sampled_from(
                    ["unconfined", "runtime/default"]
                ),
                "seccomp.security.alpha.kubernetes.io/pod": st.sampled_from(
                    ["unconfined", "runtime/default"]
                ),
            }
        )
    )
    metadata = {"annotations": annotations} if annotations else {}
    return draw(st.sampled_from([pod(pod_spec, **metadata), deployment(pod_spec, **metadata)]))


def all_results(resource: dict[str, Any]) -> set[tuple[str, str, str]]:
    """Every passing (level, version, check) of the resource."""
    parts = pod_parts(resource)
    assert parts is not None
    passing = set()
    for level in ("baseline", "restricted"):
        for version in VERSIONS:
            for result in evaluate_pod(parts[0], parts[1], level=level, version=version):
                if result.allowed:
                    passing.add((level, version, result.check_id))
    return passing


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource=workloads(), version=st.sampled_from(VERSIONS))
def test_restricted_fix_passes_and_breaks_nothing(resource: dict[str, Any], version: str) -> None:
    fix = pss_fixes.fix_psa(resource, level="restricted", version=version)
    after = resource if fix is None else patched(resource, fix)

    assert failing(after, level="restricted", version=version) == []
    assert all_results(resource) <= all_results(after)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource=workloads(), level=st.sampled_from(["baseline", "restricted"]))
def test_pod_security_fix_always_passes(resource: dict[str, Any], level: str) -> None:
    rule = {"level": level, "version": "latest"}

    fix = pss_fixes.fix_pod_security(resource, rule)
    after = resource if fix is None else patched(resource, fix)

    assert evaluate_pod_security(rule, after).status == "pass"


# The knowledge base explains every check we fix.


def test_every_check_has_fixer_and_explanation() -> None:
    kb = catalog.load_catalog([KNOWLEDGE_FILE])
    check_ids = {check.check_id for check in catalogue.CHECKS}

    explained = {entry.rule for entry in kb if entry.policy == "pod-security-standards"}

    assert check_ids <= set(pss_fixes.FIXERS)
    assert explained == check_ids
