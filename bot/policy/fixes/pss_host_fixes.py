"""Fixes for the PSS checks on what a pod shares with its node.

Most of these fields are simply removed: the host namespaces, host ports,
probe hosts and unsafe sysctls all default to the isolated behaviour. Volumes
are the exception, because a pod reads real data through them. Swapping a
hostPath for an emptyDir, or a network volume for a claim, passes the check
but changes what the workload sees, so those edits are marked as placeholders
for a person to confirm or complete.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.policy.fixes.pss_edits import PodEdit, field_of, format_path, parse_path, subject
from bot.policy.pss import phrases, pods
from bot.policy.pss.results import CheckResult

Fixer = Callable[[PodEdit, CheckResult], None]

CLAIM_PLACEHOLDER = "<name of a PersistentVolumeClaim>"
"""The claim a restricted volume type should move behind; only its owner knows it."""

# Sources whose data is made up on the spot, so scratch space stands in well.
_SCRATCH_SOURCES = ("hostPath", "gitRepo")


def fix_host_namespaces(edit: PodEdit, check: CheckResult) -> None:
    for violation in check.violations:
        if edit.remove(violation.path):
            edit.note(f"pod: remove {field_of(violation)}: true (it defaults to false)")


def fix_host_ports(edit: PodEdit, check: CheckResult) -> None:
    for violation in check.violations:
        if edit.remove(violation.path):
            edit.note(
                f"{subject(violation)}: remove hostPort {violation.value} from "
                f"{field_of(violation).removesuffix('.hostPort')}; reach the port through "
                "a Service instead"
            )


def fix_probe_hosts(edit: PodEdit, check: CheckResult) -> None:
    # Without a host the kubelet probes the pod's own IP, as it should.
    for violation in check.violations:
        if edit.remove(violation.path):
            edit.note(
                f"{subject(violation)}: remove {field_of(violation)} "
                f"{phrases.go_quote(str(violation.value))}, so it targets the pod itself"
            )


def fix_sysctls(edit: PodEdit, check: CheckResult) -> None:
    indexes = []
    names = []
    for violation in check.violations:
        segments = parse_path(violation.path)
        if len(segments) > 3 and isinstance(segments[3], int):
            indexes.append(segments[3])
            names.append(str(violation.value))
    if not indexes:
        return
    edit.remove_items("spec.securityContext.sysctls", indexes)
    noun = phrases.pluralize("sysctl", "sysctls", len(names))
    edit.note(f"pod: remove the unsafe {noun} {phrases.join_quote(names)}")


def fix_windows_host_process(edit: PodEdit, check: CheckResult) -> None:
    for violation in check.violations:
        if edit.set(violation.path, False):
            edit.note(f"{subject(violation)}: set {field_of(violation)} to false")


def fix_volumes(edit: PodEdit, check: CheckResult) -> None:
    """Replace each offending volume, keeping its name so its mounts still resolve."""
    for violation in check.violations:
        segments = parse_path(violation.path)
        volume_path = format_path(segments[:3])
        source = str(segments[3]) if len(segments) > 3 else ""
        volume = pods.mapping(edit.get(volume_path))
        # A hostPath fails two checks under Kyverno; the first fix serves both.
        if volume is None or pods.child(volume, source) is None:
            continue
        _replace_volume(edit, volume_path, pods.text(volume, "name"), source)


def _replace_volume(edit: PodEdit, volume_path: str, name: str, source: str) -> None:
    if source in _SCRATCH_SOURCES:
        edit.set(volume_path, {"name": name, "emptyDir": {}})
        edit.placeholder(volume_path)
        edit.note(
            f'volume "{name}": replace {source} with an emptyDir; its files no longer '
            "come from the node, so confirm the workload can start without them"
        )
        return
    claim = {"claimName": CLAIM_PLACEHOLDER}
    edit.set(volume_path, {"name": name, "persistentVolumeClaim": claim})
    edit.placeholder(f"{volume_path}.persistentVolumeClaim.claimName")
    edit.note(
        f'volume "{name}": move the {source} storage behind a PersistentVolume and '
        f"mount it through a claim; fill in {CLAIM_PLACEHOLDER}"
    )


FIXERS: dict[str, Fixer] = {
    "hostNamespaces": fix_host_namespaces,
    "hostPorts": fix_host_ports,
    "hostProbesAndHostLifecycle": fix_probe_hosts,
    "sysctls": fix_sysctls,
    "windowsHostProcess": fix_windows_host_process,
    "hostPathVolumes": fix_volumes,
    "restrictedVolumes": fix_volumes,
}
