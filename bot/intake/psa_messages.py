"""Pod Security Admission's denials, warnings and audit annotations.

PSA prints every failed check of a pod as `reason (detail)` and joins them
with ", ": `violates PodSecurity "restricted:latest": privileged (container
"app" must not set ...), host namespaces (hostNetwork=true, hostPID=true)`.
Details hold commas and quotes of their own, so checks are split on ", "
only outside parentheses. Each check becomes one violation whose policy is
the `level:version` pair and whose rule is PSA's reason; the containers are
the ones the detail names. PSA prints no field paths, only prose, so `path`
stays None.

When a namespace label is set, PSA warns about the pods already running
there, one line per pod (`name (and 3 other pods): check, check`) under a
header naming the namespace and level; `NamespaceWarnings` follows that
conversation line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.intake import violations
from bot.intake.violations import Action, Record, ResourceRef, Violation

_VERDICT = re.compile(
    r'(?<!It )(?P<verb>would violate|violates) PodSecurity "(?P<level>[^"]+)": (?P<checks>.*)', re.S
)
_NS_HEADER = re.compile(
    r'existing pods in namespace "(?P<namespace>[^"]+)" violate the new PodSecurity '
    r'enforce level "(?P<level>[^"]+)"'
)
_POD_LINE = re.compile(
    r"^(?P<pod>[a-z0-9][a-z0-9.\-]*)(?: \(and \d+ other pods?\))?: (?P<checks>\S.*)$"
)
_CONTAINERS = re.compile(r'\bcontainers? ((?:"(?:[^"\\]|\\.)*"(?:, )?)+)')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_CHECK = re.compile(r"(?P<reason>[^(]*?)\s*(?:\((?P<detail>.*)\))?\s*$", re.S)

ANNOTATION_VIOLATIONS = "pod-security.kubernetes.io/audit-violations"
ANNOTATION_BETA = "pod-security.kubernetes.io/audit"
"""The audit annotation of Kubernetes 1.22-1.23, whose value lists checks without the level."""

# The check IDs of k8s.io/pod-security-admission behind each reason PSA prints.
# Where restricted replaces a baseline check under the same reason, the
# restricted ID comes first. The knowledge base keys Pod Security entries by ID.
_CHECK_IDS: dict[str, tuple[str, ...]] = {
    "privileged": ("privileged",),
    "allowPrivilegeEscalation != false": ("allowPrivilegeEscalation",),
    "unrestricted capabilities": ("capabilities_restricted",),
    "non-default capabilities": ("capabilities_baseline",),
    "host namespaces": ("hostNamespaces",),
    "hostPath volumes": ("hostPathVolumes",),
    "hostPort": ("hostPorts",),
    "probeHost": ("hostProbesAndHostLifecycle",),
    "probe or lifecycle host": ("hostProbesAndHostLifecycle",),
    "hostProcess": ("windowsHostProcess",),
    "forbidden sysctls": ("sysctls",),
    "procMount": ("procMount_restricted", "procMount"),
    "restricted volume types": ("restrictedVolumes",),
    "runAsNonRoot != true": ("runAsNonRoot",),
    "runAsUser=0": ("runAsUser",),
    "seLinuxOptions": ("seLinuxOptions",),
    "seccompProfile": ("seccompProfile_restricted", "seccompProfile_baseline"),
    "forbidden AppArmor profile": ("appArmorProfile",),
    "forbidden AppArmor profiles": ("appArmorProfile",),
}


def parse(text: str, *, action: Action | None = None) -> Record | None:
    """A PSA verdict (`violates` or `would violate PodSecurity ...`), or None.

    `violates` is an enforce denial and `would violate` a warning, unless the
    caller knows better (an audit annotation says `would violate` too).
    """
    found = _VERDICT.search(text)
    if found is None:
        return None
    verdict: Action = "deny" if found["verb"] == "violates" else "warn"
    return build_record(level=found["level"], checks=found["checks"], action=action or verdict)


def build_record(
    *,
    level: str | None,
    checks: str,
    action: Action,
    resource: ResourceRef = violations.NO_RESOURCE,
) -> Record:
    found = [
        Violation(
            engine="psa",
            policy=level,
            rule=reason,
            message=f"{reason} ({detail})" if detail else reason,
            containers=containers_in(detail),
        )
        for reason, detail in split_checks(checks)
    ]
    return violations.build(engine="psa", action=action, resource=resource, violations=found)


def split_checks(text: str) -> list[tuple[str, str]]:
    """`[(reason, detail), ...]` of PSA's `reason (detail), reason, ...` list."""
    parts: list[str] = []
    depth = 0
    quoted = escaped = False
    start = 0
    for index, char in enumerate(text):
        # Quotes matter only inside a detail; reasons never hold any.
        if quoted:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
        elif char == '"' and depth > 0:
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0 and text[index + 1 : index + 2] == " ":
            parts.append(text[start:index])
            start = index + 2
    parts.append(text[start:])

    checks = []
    for part in parts:
        found = _CHECK.match(part.strip())
        if found is not None and found["reason"]:
            checks.append((found["reason"].strip(), (found["detail"] or "").strip()))
    return checks


def containers_in(text: str) -> tuple[str, ...]:
    """Container names a PSA detail quotes: `container "a"`, `containers "a", "b"`."""
    names: list[str] = []
    for group in _CONTAINERS.finditer(text):
        names.extend(_QUOTED.findall(group.group(1)))
    return violations.unique(names)


def from_annotation(key: str, value: str) -> Record | None:
    """An audit annotation PSA wrote on an admitted request, or None for other keys."""
    if key == ANNOTATION_VIOLATIONS:
        return parse(value, action="audit")
    if key == ANNOTATION_BETA:
        record = parse(value, action="audit")
        return record or build_record(level=None, checks=value, action="audit")
    return None


def check_ids(reason: str, level: str | None = None) -> tuple[str, ...]:
    """PSS check IDs a PSA reason may stand for, the likeliest first."""
    ids = _CHECK_IDS.get(reason, ())
    if level is not None and level.startswith("baseline") and len(ids) > 1:
        return tuple(reversed(ids))
    return ids


def split_level(policy: str | None) -> tuple[str, str]:
    """`restricted:v1.29` -> (`restricted`, `v1.29`); `latest` when unversioned."""
    level, _, version = (policy or "restricted").partition(":")
    return level, version or "latest"


@dataclass
class NamespaceWarnings:
    """Follows PSA's warnings about existing pods, sent when a namespace is labelled.

    Feed it each warning line with `header` and `pod`; `close` ends a group. A
    header that no pod line follows becomes a record of its own (the level and
    namespace are known, the pods are not).
    """

    namespace: str | None = None
    level: str | None = None
    pods_seen: int = 0
    records: list[Record] = field(default_factory=list)

    def header(self, text: str) -> bool:
        found = _NS_HEADER.search(text)
        if found is None:
            return False
        self.close()
        self.namespace, self.level, self.pods_seen = found["namespace"], found["level"], 0
        return True

    def pod(self, text: str) -> bool:
        if self.level is None:
            return False
        found = _POD_LINE.match(text.strip())
        if found is None:
            return False
        resource = ResourceRef("Pod", self.namespace, found["pod"])
        self.records.append(
            build_record(
                level=self.level,
                checks=found["checks"],
                action="warn",
                resource=resource,
            )
        )
        self.pods_seen += 1
        return True

    def close(self) -> None:
        if self.level is not None and self.pods_seen == 0:
            violation = Violation(
                engine="psa",
                policy=self.level,
                rule=None,
                message=f"existing pods violate the PodSecurity enforce level {self.level!r}",
            )
            resource = ResourceRef("Pod", self.namespace, None)
            self.records.append(
                violations.build(
                    engine="psa", action="warn", resource=resource, violations=[violation]
                )
            )
        self.namespace = self.level = None
        self.pods_seen = 0
