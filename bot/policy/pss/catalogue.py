"""Which check runs at which level and version, and in what order PSA lists them.

Every PSA check has one or more revisions, each with the first policy version
it applies to. A level+version pair runs, for every check of that level (the
restricted level includes baseline), the newest revision not newer than the
version. Some restricted checks replace a baseline one (`capabilities_restricted`
replaces `capabilities_baseline`); the replaced check then does not run.

PSA lists results with baseline checks first, then restricted ones, each group
sorted by check ID; denial messages follow that order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.policy.pss import hosts, levels, privileges, profiles
from bot.policy.pss.levels import BASELINE, RESTRICTED, Version, v1
from bot.policy.pss.results import CheckResult, Finding, make_result

CheckFn = Callable[[Mapping[str, Any], Mapping[str, Any]], Finding | None]


@dataclass(frozen=True)
class Revision:
    """One revision of a check, in force from `since` until the next one."""

    since: Version
    run: CheckFn
    replaces: tuple[str, ...] = ()
    """Baseline check IDs this restricted revision stands in for."""


@dataclass(frozen=True)
class Check:
    check_id: str
    level: str
    revisions: tuple[Revision, ...]
    """Oldest first; `since` strictly increases."""

    def revision_at(self, version: Version) -> Revision | None:
        """The revision PSA runs at `version`, or None before the check existed."""
        chosen = None
        for revision in self.revisions:
            if not version.is_older(revision.since):
                chosen = revision
        return chosen


def _check(check_id: str, level: str, *revisions: Revision) -> Check:
    return Check(check_id, level, revisions)


# The checks of k8s.io/pod-security-admission/policy as of Kubernetes 1.37.
CHECKS = (
    _check(
        "allowPrivilegeEscalation",
        RESTRICTED,
        Revision(v1(8), privileges.check_allow_privilege_escalation),
        Revision(v1(25), privileges.check_allow_privilege_escalation_1_25),
    ),
    _check("appArmorProfile", BASELINE, Revision(v1(0), profiles.check_apparmor_profile)),
    _check(
        "capabilities_baseline",
        BASELINE,
        Revision(v1(0), privileges.check_capabilities_baseline),
    ),
    _check(
        "capabilities_restricted",
        RESTRICTED,
        Revision(v1(22), privileges.check_capabilities_restricted, ("capabilities_baseline",)),
        Revision(v1(25), privileges.check_capabilities_restricted_1_25, ("capabilities_baseline",)),
    ),
    _check("hostNamespaces", BASELINE, Revision(v1(0), hosts.check_host_namespaces)),
    _check("hostPathVolumes", BASELINE, Revision(v1(0), hosts.check_host_path_volumes)),
    _check("hostPorts", BASELINE, Revision(v1(0), hosts.check_host_ports)),
    _check("hostProbesAndHostLifecycle", BASELINE, Revision(v1(34), hosts.check_probe_hosts)),
    _check("privileged", BASELINE, Revision(v1(0), privileges.check_privileged)),
    _check(
        "procMount",
        BASELINE,
        Revision(v1(0), privileges.check_proc_mount),
        Revision(v1(35), privileges.check_proc_mount_1_35),
    ),
    # From v1.35 baseline relaxes procMount for user namespaces; restricted
    # keeps the unconditional rule by running it under its own ID.
    _check(
        "procMount_restricted",
        RESTRICTED,
        Revision(v1(35), privileges.check_proc_mount, ("procMount",)),
    ),
    _check(
        "restrictedVolumes",
        RESTRICTED,
        Revision(v1(0), hosts.check_restricted_volumes, ("hostPathVolumes",)),
    ),
    _check(
        "runAsNonRoot",
        RESTRICTED,
        Revision(v1(0), privileges.check_run_as_non_root),
        Revision(v1(35), privileges.check_run_as_non_root_1_35),
    ),
    _check(
        "runAsUser",
        RESTRICTED,
        Revision(v1(23), privileges.check_run_as_user),
        Revision(v1(35), privileges.check_run_as_user_1_35),
    ),
    _check(
        "seLinuxOptions",
        BASELINE,
        Revision(v1(0), profiles.selinux_check(profiles.SELINUX_TYPES_1_0)),
        Revision(v1(31), profiles.selinux_check(profiles.SELINUX_TYPES_1_31)),
    ),
    _check(
        "seccompProfile_baseline",
        BASELINE,
        Revision(v1(0), profiles.check_seccomp_annotations),
        Revision(v1(19), profiles.check_seccomp_baseline),
    ),
    _check(
        "seccompProfile_restricted",
        RESTRICTED,
        Revision(v1(19), profiles.check_seccomp_restricted, ("seccompProfile_baseline",)),
        Revision(v1(25), profiles.check_seccomp_restricted_1_25, ("seccompProfile_baseline",)),
    ),
    _check(
        "sysctls",
        BASELINE,
        *(
            Revision(v1(minor), hosts.sysctls_check(minor))
            for minor in hosts.SAFE_SYSCTLS_BY_VERSION
        ),
    ),
    _check("windowsHostProcess", BASELINE, Revision(v1(0), hosts.check_windows_host_process)),
)

CHECKS_BY_ID = {check.check_id: check for check in CHECKS}

# The newest version any revision names; PSA evaluates newer ones, `latest`
# included, exactly as this one.
NEWEST_VERSION = max(
    (revision.since for check in CHECKS for revision in check.revisions),
    key=lambda version: (version.major, version.minor),
)


def active_checks(level: str, version: Version) -> list[tuple[Check, Revision]]:
    """The checks PSA runs for a level+version, in the order it reports them."""
    if level == levels.PRIVILEGED:
        return []
    if NEWEST_VERSION.is_older(version):
        version = NEWEST_VERSION
    chosen = []
    for check in CHECKS:
        if level == BASELINE and check.level != BASELINE:
            continue
        revision = check.revision_at(version)
        if revision is not None:
            chosen.append((check, revision))

    # Drop baseline checks a restricted revision replaces, then order them.
    replaced = {check_id for _, revision in chosen for check_id in revision.replaces}
    chosen = [(check, revision) for check, revision in chosen if check.check_id not in replaced]
    chosen.sort(key=lambda pair: (pair[0].level != BASELINE, pair[0].check_id))
    return chosen


def evaluate_pod(
    pod_metadata: Mapping[str, Any],
    pod_spec: Mapping[str, Any],
    *,
    level: str,
    version: str = "latest",
) -> list[CheckResult]:
    """Run every check PSA runs for `level` at `version`, allowed or not.

    Args:
        pod_metadata: The pod's (or pod template's) metadata.
        pod_spec: The pod's (or pod template's) spec.
        level: `privileged`, `baseline` or `restricted`.
        version: `latest` or `v1.x`.

    Raises:
        ValueError: for an unknown level or a malformed version.
    """
    parsed_level = levels.parse_level(level)
    parsed_version = levels.parse_version(version)
    return [
        make_result(check.check_id, check.level, revision.run(pod_metadata, pod_spec))
        for check, revision in active_checks(parsed_level, parsed_version)
    ]
