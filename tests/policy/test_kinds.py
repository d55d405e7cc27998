"""Kyverno kind specs: parsing every spelling and matching objects by them."""

from __future__ import annotations

import pytest

from bot.policy import kinds
from bot.policy.kinds import KindSelector


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("*", KindSelector("*", "*", "*", "")),
        ("*/*", KindSelector("*", "*", "*", "*")),
        ("*.*", KindSelector("*", "*", "*", "*")),
        ("Secret", KindSelector("*", "*", "Secret", "")),
        ("v1/Secret", KindSelector("*", "v1", "Secret", "")),
        ("v2beta3/Widget", KindSelector("*", "v2beta3", "Widget", "")),
        ("*/Secret", KindSelector("*", "*", "Secret", "")),
        ("*/exec", KindSelector("*", "*", "*", "exec")),
        ("Secret/*", KindSelector("*", "*", "Secret", "*")),
        ("Pod/exec", KindSelector("*", "*", "Pod", "exec")),
        ("Pod.exec", KindSelector("*", "*", "Pod", "exec")),
        ("v1/Pod/exec", KindSelector("*", "v1", "Pod", "exec")),
        ("v1/Pod.exec", KindSelector("*", "v1", "Pod", "exec")),
        ("apps/v1/StatefulSet", KindSelector("apps", "v1", "StatefulSet", "")),
        ("apps/*/StatefulSet", KindSelector("apps", "*", "StatefulSet", "")),
        ("apps/v1/StatefulSet.scale", KindSelector("apps", "v1", "StatefulSet", "scale")),
        ("example.io/v1/Gadget/status", KindSelector("example.io", "v1", "Gadget", "status")),
        ("v9.example/v1/Gadget", KindSelector("v9.example", "v1", "Gadget", "")),
        ("*/*/*", KindSelector("*", "*", "*", "*")),
        ("a/b/c/d/e", KindSelector("", "", "", "")),
    ],
)
def test_spec_parses_like_kyverno(spec, expected):
    """Group, version and subresource are optional and may be wildcards."""
    assert kinds.parse(spec) == expected


POD = {"group": "", "version": "v1", "kind": "Pod"}
STATEFULSET = {"group": "apps", "version": "v1", "kind": "StatefulSet"}
GADGET = {"group": "example.io", "version": "v1alpha1", "kind": "Gadget"}


@pytest.mark.parametrize(
    ("specs", "target", "subresource", "expected"),
    [
        (["Pod"], POD, "", True),
        (["v1/Pod"], POD, "", True),
        (["*/Pod"], POD, "", True),
        (["*"], STATEFULSET, "", True),
        (["Deployment", "StatefulSet"], STATEFULSET, "", True),
        (["apps/v1/StatefulSet"], STATEFULSET, "", True),
        (["apps/*/StatefulSet"], STATEFULSET, "", True),
        (["batch/*/StatefulSet"], STATEFULSET, "", False),
        (["v2/StatefulSet"], STATEFULSET, "", False),
        (["statefulset"], STATEFULSET, "", False),
        (["Pod"], POD, "status", False),
        (["*"], POD, "status", False),
        (["Pod/status"], POD, "status", True),
        (["Pod/status"], POD, "", False),
        (["Pod/*"], POD, "status", True),
        (["Pod/*"], POD, "", True),
        (["*/*"], POD, "exec", True),
        (["*/exec"], POD, "exec", True),
        (["example.io/v1alpha1/Gadget"], GADGET, "", True),
        (["example.io/*/Gadget"], GADGET, "", True),
        (["*.io/*/Gadget"], GADGET, "", True),
        (["*.com/*/Gadget"], GADGET, "", False),
        ([], POD, "", False),
    ],
)
def test_kinds_select_group_version_kind(specs, target, subresource, expected):
    """Every part of the spec must match the object and the subresource."""
    assert kinds.matches_any(specs, subresource=subresource, **target) is expected


def test_pod_kind_covers_ephemeral_containers():
    """Kyverno's engine lets Pod rules judge `kubectl debug` updates too."""
    assert kinds.matches_any(["Pod"], subresource="ephemeralcontainers", **POD)
    assert not kinds.matches_any(
        ["Pod"], subresource="ephemeralcontainers", allow_ephemeral_containers=False, **POD
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("Pod", "Pod"),
        ("v1/Pod", "Pod"),
        ("Pod/status", "Pod"),
        ("Pod.status", "Pod"),
        ("v1/Pod/status", "Pod"),
        ("apps/v1/Deployment", "Deployment"),
        ("apps/v1/Deployment/scale", "Deployment"),
        ("*/*", "*"),
        ("a/b/c/d/e", ""),
    ],
)
def test_kind_name_drops_group_version_and_subresource(spec, expected):
    """Autogen asks whether a rule names Pods, whatever the spelling."""
    assert kinds.kind_name(spec) == expected


def test_names_kind_finds_pod_in_any_spelling():
    """One matching entry is enough; wildcards do not count as Pod."""
    assert kinds.names_kind(["Service", "v1/Pod"], "Pod")
    assert not kinds.names_kind(["*", "Deployment"], "Pod")
