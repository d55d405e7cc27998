"""The records, and how API resource names become Kinds."""

from __future__ import annotations

import pytest

from bot.intake import violations
from bot.intake.violations import Record, ResourceRef, Violation


@pytest.mark.parametrize(
    ("resource", "kind"),
    [
        ("pods", "Pod"),
        ("pod", "Pod"),
        ("deployments.apps", "Deployment"),
        ("deployment.apps", "Deployment"),
        ("networkpolicies.networking.k8s.io", "NetworkPolicy"),
        ("ingresses", "Ingress"),
        ("csinodes", "CSINode"),
        ("endpoints", "Endpoints"),
        ("namespace", "Namespace"),
        ("deploy", "Deployment"),
        ("Pod", "Pod"),
        ("widgets.example.com", "Widget"),
        ("proxies", "Proxy"),
    ],
)
def test_resource_names_become_kinds(resource, kind):
    """Plural, singular, grouped and short names all give the Kind."""
    assert violations.kind_for_resource(resource) == kind


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("Pod/default/web", ResourceRef("Pod", "default", "web")),
        ("Namespace//prod", ResourceRef("Namespace", None, "prod")),
        ("foo/bar/baz", ResourceRef("foo", "bar", "baz")),
        ("Pod/web", ResourceRef("Pod", None, "web")),
        ("web", ResourceRef(None, None, "web")),
    ],
)
def test_kyverno_triplets_become_references(text, ref):
    """Kyverno's Kind/namespace/name, with an empty namespace for cluster scope."""
    assert violations.resource_from_triplet(text) == ref


def test_repeated_keys_merge_their_containers():
    """One (policy, rule, path) is one violation, keeping every container named."""
    first = Violation(engine="psa", policy="p", rule="r", message="a", containers=("a",))
    second = Violation(engine="psa", policy="p", rule="r", message="b", containers=("b", "a"))
    other = Violation(engine="psa", policy="p", rule="s", message="c")

    merged = violations.merge([first, second, other])

    assert [v.containers for v in merged] == [("a", "b"), ()]


def test_build_aligns_violations_with_their_record():
    """Violations carry the record's action, resource and requester."""
    violation = Violation(engine="vap", policy="p", rule="b", message="m")
    ref = ResourceRef("Pod", "ns", "x")

    record = violations.build(
        engine="vap", action="deny", resource=ref, requester="alice", violations=[violation]
    )

    assert record.violations[0].action == "deny"
    assert record.violations[0].resource == ref
    assert record.violations[0].requester == "alice"


def test_context_fills_only_what_is_missing():
    """The record's own parts win; an unknown action takes the context's."""
    record = violations.build(
        engine="psa", action="unknown", resource=ResourceRef("Pod", None, "x")
    )

    filled = record.with_context(
        resource=ResourceRef("Deployment", "ns", "y"), requester="bob", action="deny"
    )

    assert filled.resource == ResourceRef("Pod", "ns", "x")
    assert (filled.requester, filled.action) == ("bob", "deny")


def test_context_keeps_a_known_action():
    """A warning stays a warning when the surrounding text is a denial."""
    record = Record(engine="psa", action="warn")

    assert record.with_context(action="deny").action == "warn"


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        (ResourceRef("Pod", "ns", "x"), "Pod ns/x"),
        (ResourceRef("Namespace", None, "prod"), "Namespace prod"),
        (ResourceRef("Pod", "ns", None), "Pod in ns"),
        (ResourceRef(), "object"),
    ],
)
def test_references_read_like_kubectl(ref, text):
    """A reference prints as people name objects."""
    assert str(ref) == text
