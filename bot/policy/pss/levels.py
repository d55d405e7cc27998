"""Pod Security Standards levels and policy versions, parsed as PSA parses them.

A namespace label or a Kyverno rule names a level (`privileged`, `baseline`,
`restricted`) and a version (`latest` or `v1.x`). A version picks which
revision of each check applies: `v1.24` means "the checks as Kubernetes 1.24
defined them". `latest` is newer than any numbered version, even one from the
future, so it always selects the newest revision we know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PRIVILEGED = "privileged"
BASELINE = "baseline"
RESTRICTED = "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)

# NB: PSA accepts no leading zeros and no patch part: "v1.025" and "v1.25.0"
# are both invalid, exactly as the apiserver rejects them in namespace labels.
_VERSION_PATTERN = re.compile(r"v1\.([0-9]|[1-9][0-9]*)")


@dataclass(frozen=True)
class Version:
    """One policy version; `latest` compares newer than every numbered one."""

    major: int = 1
    minor: int = 0
    latest: bool = False

    def __str__(self) -> str:
        return "latest" if self.latest else f"v{self.major}.{self.minor}"

    def is_older(self, other: Version) -> bool:
        if self.latest:
            return False
        if other.latest:
            return True
        return (self.major, self.minor) < (other.major, other.minor)


LATEST = Version(latest=True)


def v1(minor: int) -> Version:
    return Version(1, minor)


def parse_version(text: str) -> Version:
    """Parse `latest` or `v1.x`; anything else is a ValueError with PSA's wording."""
    if text == "latest":
        return LATEST
    match = _VERSION_PATTERN.fullmatch(text)
    if match is None:
        raise ValueError('must be "latest" or "v1.x"')
    return v1(int(match.group(1)))


def parse_level(text: str) -> str:
    if text not in LEVELS:
        raise ValueError(f"must be one of {', '.join(LEVELS)}")
    return text


def format_level_version(level: str, version: str) -> str:
    """The `level:version` pair as PSA quotes it in denials."""
    return f"{parse_level(level)}:{parse_version(version)}"
