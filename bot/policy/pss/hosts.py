"""Checks on what a pod shares with its node: namespaces, ports, volumes, sysctls.

Same contract as `privileges`: each function returns PSA's reason and detail
in a `Finding` when the pod is forbidden, or None.

NB: the API server defaults a volume with no known source to `emptyDir`
before admission runs, so such a volume passes here too, as in PSA's own
fixtures. (PSA's `unknown` volume type can therefore never be reported.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.policy.pss import phrases, pods
from bot.policy.pss.results import FieldViolation, Finding

Spec = Mapping[str, Any]
CheckFn = Callable[[Spec, Spec], Finding | None]

# Volume sources the restricted level allows: none of them reach the node.
ALLOWED_VOLUME_TYPES = (
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
)
# The order matters: PSA names the first of these a volume sets.
RESTRICTED_VOLUME_TYPES = (
    "hostPath",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "nfs",
    "iscsi",
    "glusterfs",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "fc",
    "azureFile",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "portworxVolume",
    "scaleIO",
    "storageos",
)

# Sysctls that are namespaced and isolated from other pods, by the version that
# first allowed them. Each version allows its own and all earlier ones.
SAFE_SYSCTLS_BY_VERSION = {
    0: (
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    ),
    27: ("net.ipv4.ip_local_reserved_ports",),
    29: (
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ),
    32: ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"),
    37: ("net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"),
}

_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_LIFECYCLE_HANDLERS = ("postStart", "preStop")
_HANDLER_ACTIONS = ("httpGet", "tcpSocket")


def check_host_namespaces(metadata: Spec, spec: Spec) -> Finding | None:
    shared = []
    violations = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pods.is_true(spec, field):
            shared.append(f"{field}=true")
            violations.append(FieldViolation(None, f"spec.{field}", True, (False, None)))
    if not shared:
        return None
    return Finding("host namespaces", ", ".join(shared), tuple(violations))


def check_host_path_volumes(metadata: Spec, spec: Spec) -> Finding | None:
    names = []
    violations = []
    for index, volume in enumerate(pods.items(spec, "volumes")):
        host_path = pods.child(pods.mapping(volume), "hostPath")
        if host_path is None:
            continue
        names.append(pods.text(pods.mapping(volume), "name"))
        path = f"spec.volumes[{index}].hostPath"
        violations.append(FieldViolation(None, path, pods.text(host_path, "path"), (None,)))
    if not names:
        return None
    detail = f"{phrases.pluralize('volume', 'volumes', len(names))} {phrases.join_quote(names)}"
    return Finding("hostPath volumes", detail, tuple(violations))


def check_restricted_volumes(metadata: Spec, spec: Spec) -> Finding | None:
    names = []
    types: set[str] = set()
    violations = []
    for index, volume in enumerate(pods.items(spec, "volumes")):
        volume = pods.mapping(volume) or {}
        if any(pods.child(volume, key) is not None for key in ALLOWED_VOLUME_TYPES):
            continue
        kinds = [key for key in RESTRICTED_VOLUME_TYPES if pods.child(volume, key) is not None]
        if not kinds:
            continue
        kind = kinds[0]
        names.append(pods.text(volume, "name"))
        types.add(kind)
        path = f"spec.volumes[{index}].{kind}"
        violations.append(FieldViolation(None, path, kind, ALLOWED_VOLUME_TYPES))
    if not names:
        return None
    detail = (
        f"{phrases.pluralize('volume', 'volumes', len(names))} {phrases.join_quote(names)} "
        f"{phrases.pluralize('uses', 'use', len(names))} "
        f"{phrases.pluralize('restricted volume type', 'restricted volume types', len(types))} "
        f"{phrases.join_quote(sorted(types))}"
    )
    return Finding("restricted volume types", detail, tuple(violations))


def check_host_ports(metadata: Spec, spec: Spec) -> Finding | None:
    bad: list[str] = []
    ports: set[str] = set()
    violations = []
    for container in pods.containers(spec):
        found = False
        for index, port in enumerate(pods.items(container.body, "ports")):
            host_port = pods.integer(pods.mapping(port), "hostPort")
            if not host_port:
                continue
            found = True
            ports.add(str(host_port))
            path = f"{container.path}.ports[{index}].hostPort"
            violations.append(FieldViolation(container.name, path, host_port, (None, 0)))
        if found:
            bad.append(container.name)
    if not bad:
        return None
    # NB: ports sort as strings, so "10250" comes before "8080" as in PSA.
    detail = (
        f"{phrases.containers_phrase(bad)} {phrases.pluralize('uses', 'use', len(bad))} "
        f"{phrases.pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}"
    )
    return Finding("hostPort", detail, tuple(violations))


def check_probe_hosts(metadata: Spec, spec: Spec) -> Finding | None:
    bad: set[str] = set()
    hosts: set[str] = set()
    violations = []
    for container in pods.containers(spec):
        # Probes and lifecycle hooks share one shape: an action with a host.
        handlers = [(name, pods.child(container.body, name)) for name in _PROBES]
        lifecycle = pods.child(container.body, "lifecycle")
        handlers += [
            (f"lifecycle.{name}", pods.child(lifecycle, name)) for name in _LIFECYCLE_HANDLERS
        ]
        for handler_path, handler in handlers:
            for action in _HANDLER_ACTIONS:
                host = pods.text(pods.child(handler, action), "host")
                if not host:
                    continue
                bad.add(container.name)
                hosts.add(host)
                path = f"{container.path}.{handler_path}.{action}.host"
                violations.append(FieldViolation(container.name, path, host, ("", None)))
    if not bad:
        return None
    # Unlike other checks, this one sorts and de-duplicates container names.
    names = sorted(bad)
    detail = (
        f"{phrases.containers_phrase(names)} {phrases.pluralize('uses', 'use', len(names))} "
        f"{phrases.pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
        f"{phrases.join_quote(sorted(hosts))}"
    )
    return Finding("probe or lifecycle host", detail, tuple(violations))


def check_windows_host_process(metadata: Spec, spec: Spec) -> Finding | None:
    setters = []
    violations = []
    pod_options = pods.child(pods.child(spec, "securityContext"), "windowsOptions")
    if pods.is_true(pod_options, "hostProcess"):
        setters.append("pod")
        path = "spec.securityContext.windowsOptions.hostProcess"
        violations.append(FieldViolation(None, path, True, (False, None)))
    bad = []
    for container in pods.containers(spec):
        options = pods.child(container.security_context, "windowsOptions")
        if pods.is_true(options, "hostProcess"):
            bad.append(container.name)
            path = f"{container.path}.securityContext.windowsOptions.hostProcess"
            violations.append(FieldViolation(container.name, path, True, (False, None)))
    if bad:
        setters.append(phrases.containers_phrase(bad))
    if not setters:
        return None
    detail = f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true"
    return Finding("hostProcess", detail, tuple(violations))


def safe_sysctls(minor: int) -> frozenset[str]:
    """The sysctls allowed by policy version v1.<minor>."""
    return frozenset(
        name for since, names in SAFE_SYSCTLS_BY_VERSION.items() if since <= minor for name in names
    )


def sysctls_check(minor: int) -> CheckFn:
    """The sysctls check as revised in v1.<minor>."""
    allowed = safe_sysctls(minor)

    def check_sysctls(metadata: Spec, spec: Spec) -> Finding | None:
        names = []
        violations = []
        entries = pods.items(pods.child(spec, "securityContext"), "sysctls")
        for index, entry in enumerate(entries):
            name = pods.text(pods.mapping(entry), "name")
            if name in allowed:
                continue
            names.append(name)
            path = f"spec.securityContext.sysctls[{index}].name"
            violations.append(FieldViolation(None, path, name, tuple(sorted(allowed))))
        if not names:
            return None
        return Finding("forbidden sysctls", ", ".join(names), tuple(violations))

    return check_sysctls
