"""PSA's checks on what a pod shares with its node: verdicts and exact wording."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy.pss import FieldViolation
from tests.policy.pss.builders import container, failures, hardened, results, spec


def probed(name: str, **probes: Any) -> dict[str, Any]:
    return {**hardened(name), **probes}


def http(host: str) -> dict[str, Any]:
    return {"httpGet": {"host": host, "port": 80}}


def tcp(host: str) -> dict[str, Any]:
    return {"tcpSocket": {"host": host, "port": 80}}


HOST_PATH = {"name": "logs", "hostPath": {"path": "/var/log"}}
NFS = {"name": "share", "nfs": {"server": "nas", "path": "/"}}

# (id, pod spec, level, version, check, reason, detail)
FAILING: list[tuple[str, dict[str, Any], str, str, str, str, str]] = [
    (
        "host-namespaces",
        spec(hostIPC=True, hostNetwork=True, hostPID=True),
        "baseline",
        "latest",
        "hostNamespaces",
        "host namespaces",
        "hostNetwork=true, hostPID=true, hostIPC=true",
    ),
    (
        "host-path-baseline",
        spec(volumes=[HOST_PATH, {"name": "tmp", "emptyDir": {}}]),
        "baseline",
        "latest",
        "hostPathVolumes",
        "hostPath volumes",
        'volume "logs"',
    ),
    (
        "restricted-volumes",
        spec(volumes=[HOST_PATH, NFS, {"name": "cfg", "configMap": {"name": "x"}}]),
        "restricted",
        "latest",
        "restrictedVolumes",
        "restricted volume types",
        'volumes "logs", "share" use restricted volume types "hostPath", "nfs"',
    ),
    (
        "restricted-volume-one",
        spec(volumes=[{"name": "repo", "gitRepo": {"repository": "x"}}]),
        "restricted",
        "v1.0",
        "restrictedVolumes",
        "restricted volume types",
        'volume "repo" uses restricted volume type "gitRepo"',
    ),
    (
        "host-ports-sort-as-text",
        spec(
            {**hardened("a"), "ports": [{"containerPort": 80, "hostPort": 8080}]},
            {
                **hardened("b"),
                "ports": [{"containerPort": 1, "hostPort": 10250}, {"containerPort": 2}],
            },
        ),
        "baseline",
        "latest",
        "hostPorts",
        "hostPort",
        'containers "a", "b" use hostPorts 10250, 8080',
    ),
    (
        "host-port-one",
        spec({**hardened("a"), "ports": [{"containerPort": 80, "hostPort": 80}]}),
        "baseline",
        "latest",
        "hostPorts",
        "hostPort",
        'container "a" uses hostPort 80',
    ),
    (
        "probe-hosts-sorted",
        spec(
            probed("web", livenessProbe=http("localhost"), readinessProbe=tcp("::1")),
            probed("api", lifecycle={"preStop": http("10.0.0.1")}),
        ),
        "baseline",
        "v1.34",
        "hostProbesAndHostLifecycle",
        "probe or lifecycle host",
        'containers "api", "web" use probe or lifecycle hosts "10.0.0.1", "::1", "localhost"',
    ),
    (
        "probe-host-one",
        spec(probed("web", startupProbe=http("example.com"))),
        "restricted",
        "latest",
        "hostProbesAndHostLifecycle",
        "probe or lifecycle host",
        'container "web" uses probe or lifecycle host "example.com"',
    ),
    (
        "windows-host-process",
        spec(
            hardened("a", windowsOptions={"hostProcess": True}),
            securityContext={"windowsOptions": {"hostProcess": True}},
        ),
        "baseline",
        "latest",
        "windowsHostProcess",
        "hostProcess",
        'pod and container "a" must not set securityContext.windowsOptions.hostProcess=true',
    ),
    (
        "sysctls-in-order",
        spec(
            securityContext={
                "sysctls": [
                    {"name": "kernel.msgmax", "value": "1"},
                    {"name": "net.ipv4.tcp_syncookies", "value": "1"},
                    {"name": "kernel.shm_next_id", "value": "1"},
                ]
            }
        ),
        "baseline",
        "latest",
        "sysctls",
        "forbidden sysctls",
        "kernel.msgmax, kernel.shm_next_id",
    ),
    (
        "sysctl-newer-than-version",
        spec(securityContext={"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports"}]}),
        "baseline",
        "v1.26",
        "sysctls",
        "forbidden sysctls",
        "net.ipv4.ip_local_reserved_ports",
    ),
    (
        "sysctl-from-1.37-at-1.36",
        spec(securityContext={"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat"}]}),
        "baseline",
        "v1.36",
        "sysctls",
        "forbidden sysctls",
        "net.ipv4.tcp_notsent_lowat",
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


SYSCTLS_1_37 = {"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat"}]}

# (id, pod spec, level, version, check that must pass or not run)
PASSING: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("host-network-false", spec(hostNetwork=False), "baseline", "latest", "hostNamespaces"),
    (
        "allowed-volumes",
        spec(volumes=[{"name": "s", "secret": {"secretName": "x"}}]),
        "restricted",
        "latest",
        "restrictedVolumes",
    ),
    (
        "volume-defaults-to-empty-dir",
        spec(volumes=[{"name": "scratch"}]),
        "restricted",
        "latest",
        "restrictedVolumes",
    ),
    (
        "host-port-zero",
        spec({**hardened(), "ports": [{"containerPort": 80, "hostPort": 0}]}),
        "baseline",
        "latest",
        "hostPorts",
    ),
    (
        "probe-without-host",
        spec(probed("web", livenessProbe={"httpGet": {"port": 80}})),
        "baseline",
        "latest",
        "hostProbesAndHostLifecycle",
    ),
    (
        "probe-host-before-1.34",
        spec(probed("web", livenessProbe=http("localhost"))),
        "baseline",
        "v1.33",
        "hostProbesAndHostLifecycle",
    ),
    (
        "host-process-false",
        spec(hardened(windowsOptions={"hostProcess": False})),
        "baseline",
        "latest",
        "windowsHostProcess",
    ),
    (
        "safe-sysctl",
        spec(securityContext={"sysctls": [{"name": "kernel.shm_rmid_forced"}]}),
        "baseline",
        "v1.0",
        "sysctls",
    ),
    ("sysctl-from-1.37", spec(securityContext=SYSCTLS_1_37), "baseline", "v1.37", "sysctls"),
    (
        "sysctl-from-1.37-at-latest",
        spec(securityContext=SYSCTLS_1_37),
        "baseline",
        "latest",
        "sysctls",
    ),
]


@pytest.mark.parametrize(
    ("pod_spec", "level", "version", "check"),
    [case[1:] for case in PASSING],
    ids=[case[0] for case in PASSING],
)
def test_check_allows_or_does_not_run(
    pod_spec: dict[str, Any], level: str, version: str, check: str
) -> None:
    """Allowed values and version gates leave the check passing."""
    found = results(pod_spec, level=level, version=version)

    assert check not in found or found[check].allowed


def test_restricted_replaces_host_path_check() -> None:
    """At restricted, a hostPath volume fails restrictedVolumes only."""
    found = failures(spec(volumes=[HOST_PATH]))

    assert "hostPathVolumes" not in found
    assert found["restrictedVolumes"].violations == (
        FieldViolation(
            None,
            "spec.volumes[0].hostPath",
            "hostPath",
            found["restrictedVolumes"].violations[0].allowed,
        ),
    )


def test_host_path_violation_holds_the_path() -> None:
    """The offending value of a hostPath volume is the node path it mounts."""
    result = failures(spec(volumes=[HOST_PATH]), level="baseline")["hostPathVolumes"]

    assert result.violations == (
        FieldViolation(None, "spec.volumes[0].hostPath", "/var/log", (None,)),
    )


def test_host_port_violation_per_port() -> None:
    """Each host port gets its own violation under its container."""
    pod_spec = spec({**container("a"), "ports": [{"hostPort": 80}, {"hostPort": 443}]})

    result = failures(pod_spec, level="baseline")["hostPorts"]

    assert [(v.container, v.path, v.value) for v in result.violations] == [
        ("a", "spec.containers[0].ports[0].hostPort", 80),
        ("a", "spec.containers[0].ports[1].hostPort", 443),
    ]


def test_probe_violation_points_at_handler() -> None:
    pod_spec = spec(probed("web", lifecycle={"postStart": tcp("db")}))

    result = failures(pod_spec, level="baseline")["hostProbesAndHostLifecycle"]

    assert result.violations[0].path == "spec.containers[0].lifecycle.postStart.tcpSocket.host"
    assert result.violations[0].value == "db"
