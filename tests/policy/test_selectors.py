"""Label selectors as Kubernetes evaluates them, plus Kyverno's wildcards."""

from __future__ import annotations

import pytest

from bot.policy import selectors

LABELS = {"app": "shop", "tier": "web", "example.com/owner": "team-a"}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        ({}, {}, True),
        ({}, LABELS, True),
        ({"matchLabels": {"app": "shop"}}, LABELS, True),
        ({"matchLabels": {"app": "cart"}}, LABELS, False),
        ({"matchLabels": {"app": "shop", "tier": "db"}}, LABELS, False),
        ({"matchLabels": {"missing": ""}}, LABELS, False),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]},
            LABELS,
            True,
        ),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]},
            LABELS,
            False,
        ),
        ({"matchExpressions": [{"key": "nope", "operator": "In", "values": ["x"]}]}, LABELS, False),
        (
            {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]},
            LABELS,
            True,
        ),
        (
            {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]},
            LABELS,
            False,
        ),
        (
            {"matchExpressions": [{"key": "nope", "operator": "NotIn", "values": ["x"]}]},
            LABELS,
            True,
        ),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, LABELS, True),
        ({"matchExpressions": [{"key": "nope", "operator": "Exists"}]}, LABELS, False),
        ({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}, LABELS, False),
        ({"matchExpressions": [{"key": "nope", "operator": "DoesNotExist"}]}, LABELS, True),
        (
            {
                "matchLabels": {"app": "shop"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}],
            },
            LABELS,
            False,
        ),
    ],
)
def test_selector_follows_kubernetes_semantics(selector, labels, expected):
    """matchLabels and matchExpressions must all hold; empty selects all."""
    assert selectors.selector_matches(selector, labels) is expected


@pytest.mark.parametrize(
    ("match_labels", "labels", "expected"),
    [
        ({"app": "sh*"}, LABELS, True),
        ({"app": "c*"}, LABELS, False),
        ({"example.com/*": "team-?"}, LABELS, True),
        ({"example.com/*": "team-b"}, LABELS, False),
        ({"*": "*"}, LABELS, True),
        ({"*": "*"}, {}, False),
        ({"*": "web"}, LABELS, True),
        ({"app": "*"}, {"tier": "web"}, False),
    ],
)
def test_match_labels_accept_wildcards(match_labels, labels, expected):
    """A wildcard entry holds when one label matches its key and value."""
    assert selectors.selector_matches({"matchLabels": match_labels}, labels) is expected


@pytest.mark.parametrize(
    "selector",
    [
        {"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["x"]}]},
        {"matchExpressions": [{"key": "app", "operator": "In", "values": []}]},
        {"matchExpressions": [{"key": "app", "operator": "NotIn"}]},
        {"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["x"]}]},
        {"matchExpressions": [{"key": "app", "operator": "In", "values": ["bad value"]}]},
        {"matchExpressions": ["not a map"]},
        {"matchLabels": {"bad key!": "x"}},
        {"matchLabels": {"/name": "x"}},
        {"matchLabels": {"UPPER.example/name": "x"}},
        {"matchLabels": {"app": "-leading-dash"}},
        {"matchLabels": {"app": "x" * 64}},
        {"matchLabels": {"app": 3}},
        {"matchLabels": ["app"]},
    ],
)
def test_malformed_selector_is_an_error(selector):
    """Kubernetes refuses these selectors; Kyverno then matches nothing."""
    with pytest.raises(selectors.SelectorError):
        selectors.selector_matches(selector, LABELS)


def test_malformed_selector_fails_even_without_labels():
    """The whole selector is built before any label is compared."""
    selector = {
        "matchLabels": {"app": "other"},
        "matchExpressions": [{"key": "app", "operator": "Bogus"}],
    }

    with pytest.raises(selectors.SelectorError, match="not a valid label selector operator"):
        selectors.selector_matches(selector, {})
