"""Choosing a value that satisfies one pattern value."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, strategies as st

from bot.policy import values
from bot.policy.fixes import values_synthesis
from bot.policy.fixes.values_synthesis import (
    MISSING,
    PIN_A_DIGEST,
    PIN_A_VERSION,
    SET_A_VALUE,
    Derived,
    satisfying_value,
)


@pytest.mark.parametrize(
    ("pattern", "current", "expected"),
    [
        (True, MISSING, True),
        (False, True, False),
        ("true", MISSING, True),
        ("false", True, False),
        ("true", "false", "true"),
        (3, MISSING, 3),
        (2.5, 1, 2.5),
        ("Default", "Unmasked", "Default"),
        ("RuntimeDefault | Localhost", MISSING, "RuntimeDefault"),
        ("a | b", "c", "a"),
        ("kasten-example|none", "other", "kasten-example"),
        (">=1", MISSING, 1),
        (">0", 0, 1),
        (">1", 1, 2),
        (">1.5", 1, 2),
        ("<5", 9, 4),
        ("<=5", 7, 5),
        ("<0.5", "1", "0"),
        ("<=2Gi", "4Gi", "2Gi"),
        (">=100Mi", "50Mi", "100Mi"),
        (">100Mi", "50Mi", "101Mi"),
        (">1h", "5m", "2h"),
        ("1-10", MISSING, 1),
        ("1-10", 20, 10),
        ("-5-10", -9, -5),
        ("32000-33000", 80, 32000),
        ("1Gi-4Gi", "8Gi", "4Gi"),
        ("1!-10", 5, 0),
        ("0!-10", 5, 11),
        ("!true", True, False),
        ("!false", "false", "true"),
        (">0 & <10", 20, 1),
        ("!0 & <=3", 0, 3),
    ],
)
def test_exact_proposals_match_and_keep_the_type(pattern: Any, current: Any, expected: Any) -> None:
    """Bounds, enumerations and booleans give a value of the right type."""
    proposal = satisfying_value(pattern, current)

    assert proposal == (expected, False)
    assert type(proposal[0]) is type(expected)
    assert values.value_matches(proposal[0], pattern)


@pytest.mark.parametrize(
    ("pattern", "current"),
    [("?*", "value"), (">=1", 3), ("!default", "apps"), ("*:*", "nginx:1.25"), (None, None)],
)
def test_a_matching_current_value_is_kept(pattern: Any, current: Any) -> None:
    """Nothing changes when the field already satisfies the pattern."""
    proposal = satisfying_value(pattern, current)

    assert proposal == (current, False)


@pytest.mark.parametrize(
    ("pattern", "current", "expected"),
    [
        ("true", MISSING, "true"),
        ("!false", "false", "true"),
        (">=1", MISSING, "1"),
        (3, MISSING, "3"),
    ],
)
def test_text_fields_get_strings(pattern: Any, current: Any, expected: str) -> None:
    """Labels and annotations only hold strings, so `true` stays text."""
    proposal = satisfying_value(pattern, current, as_text=True)

    assert proposal == (expected, False)


@pytest.mark.parametrize(
    ("current", "expected"),
    [(True, False), (7, 0), (2.5, 0.0), ("text", ""), (MISSING, None), ([1], None)],
)
def test_null_pattern_wants_the_zero_value(current: Any, expected: Any) -> None:
    """A null pattern accepts a zero value: the zero of the current type."""
    proposal = satisfying_value(None, current)

    assert proposal == (expected, False)


@pytest.mark.parametrize(
    ("pattern", "current", "expected"),
    [
        ("?*", MISSING, SET_A_VALUE),
        ("?*", "", SET_A_VALUE),
        ("*", None, SET_A_VALUE),
        ("safe-*", "mysecret", f"safe-{SET_A_VALUE}"),
        ("https://?*.corp.com/*", MISSING, f"https://{SET_A_VALUE}.corp.com/{SET_A_VALUE}"),
        ("!default", "default", "<set a value other than default>"),
        ("!cluster-admin", "cluster-admin", "<set a value other than cluster-admin>"),
        (">1h30m", "5m", "<set a value above 1h30m>"),
        ("!*+* & !*=*", "a+b", "<set a value other than *+*>"),
    ],
)
def test_guided_proposals_hold_a_placeholder(pattern: str, current: Any, expected: str) -> None:
    """Where only the team knows the answer, the value says what to fill in."""
    proposal = satisfying_value(pattern, current)

    assert proposal == (expected, True)


@pytest.mark.parametrize(
    ("pattern", "current", "expected", "guided"),
    [
        ("*:*", "nginx", f"nginx:{PIN_A_VERSION}", True),
        ("!*:latest", "nginx:latest", f"nginx:{PIN_A_VERSION}", True),
        ("!*:latest", "localhost:5000/app:latest", f"localhost:5000/app:{PIN_A_VERSION}", True),
        ("*@*", "nginx:1.25", f"nginx:1.25@sha256:{PIN_A_DIGEST}", True),
        ("*@*", "busybox", f"busybox@sha256:{PIN_A_DIGEST}", True),
        ("registry.corp/*", "nginx:1.25", "registry.corp/nginx:1.25", False),
        ("registry.corp/*", "docker.io/library/nginx:1", "registry.corp/library/nginx:1", False),
        ("eu.foo.io/* | bar.io/*", "nginx", "eu.foo.io/nginx", False),
        ("registry.corp/* & *:*", "nginx", f"registry.corp/nginx:{PIN_A_VERSION}", True),
        ("ghcr.io/org/*", "other.io/team/", f"ghcr.io/org/{SET_A_VALUE}", True),
        ("registry.corp/*", MISSING, f"registry.corp/{SET_A_VALUE}", True),
    ],
)
def test_images_are_derived_from_the_current_image(
    pattern: str, current: Any, expected: str, guided: bool
) -> None:
    """An image keeps its name; registries move it, tag rules ask a version."""
    proposal = satisfying_value(pattern, current, field="image")

    assert proposal == (expected, guided)


def test_unsatisfiable_guided_proposal_is_still_returned() -> None:
    """A pattern no filler meets still gets a placeholder naming the need."""
    proposal = satisfying_value(">1h30m", MISSING)

    assert proposal == ("<set a value above 1h30m>", True)


@pytest.mark.parametrize("pattern", [{"a": 1}, [1]])
def test_non_scalar_patterns_give_nothing(pattern: Any) -> None:
    """Maps and lists are built by the walk, not by this module."""
    proposal = satisfying_value(pattern)

    assert proposal is None


def test_fill_placeholders_reaches_keys_and_nested_values() -> None:
    """Filling replaces every placeholder, in keys as well as in values."""
    value = {"a/<set a name>": ["x:<pin a version>", 3], "b": {"c": "<set a value>"}}

    filled = values_synthesis.fill_placeholders(value, "1")

    assert filled == {"a/1": ["x:1", 3], "b": {"c": "1"}}
    assert values_synthesis.has_placeholder(value)
    assert not values_synthesis.has_placeholder(filled)


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("nginx", "nginx"),
        ("docker.io/library/nginx:1.25", "nginx"),
        ("ghcr.io/Org/My_App@sha256:abc", "my-app"),
        ("localhost:5000/app", "app"),
        ("___", ""),
    ],
)
def test_image_short_name_is_a_dns_label(reference: str, expected: str) -> None:
    """Container names derived from images are lowercase DNS labels."""
    name = values_synthesis.image_short_name(reference)

    assert name == expected


CONTAINERS = {
    "spec": {
        "containers": [
            {"name": "nginx", "image": "nginx:1"},
            {"image": "docker.io/nginx:2", "ports": [{"containerPort": 53, "protocol": "UDP"}]},
            {"image": "___"},
        ],
        "initContainers": [
            {"name": "init", "resources": {"requests": {"cpu": "250m"}, "limits": {"memory": 1}}}
        ],
    }
}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (("spec", "containers", 1, "ports", 0, "name"), Derived("udp-53", "named after the port")),
        (("spec", "containers", 1, "name"), Derived("nginx-1", "named after the image")),
        (("spec", "containers", 0, "name"), Derived("nginx-0", "named after the image")),
        (("spec", "containers", 2, "name"), None),
        (
            ("spec", "initContainers", 0, "resources", "limits", "cpu"),
            Derived("250m", "same as the request"),
        ),
        (
            ("spec", "initContainers", 0, "resources", "requests", "memory"),
            Derived(1, "same as the limit"),
        ),
        (("spec", "initContainers", 0, "resources", "limits", "gpu"), None),
        (("spec", "containers", 9, "name"), None),
        (("spec", "nodeName"), None),
        ((), None),
    ],
)
def test_derive_reads_values_off_the_resource(
    at: tuple[str | int, ...], expected: Derived | None
) -> None:
    """Port and container names and resource amounts come from neighbours."""
    derived = values_synthesis.derive(CONTAINERS, at)

    assert derived == expected


SCALAR_PATTERNS = st.sampled_from(
    [
        "?*",
        "*",
        "true",
        "false",
        ">=1",
        ">0",
        "<=5",
        "<10",
        "1-10",
        "1!-10",
        "a | b | c",
        "!x",
        "prefix-*",
        "<=2Gi",
        ">=100Mi",
        ">1h",
        "!true",
        ">0 & <=3",
        "*:*",
        "!*:latest",
        "*@*",
    ]
)
CURRENT_VALUES = st.one_of(
    st.just(MISSING),
    st.none(),
    st.booleans(),
    st.integers(-20, 20),
    st.sampled_from(["", "x", "latest", "nginx", "nginx:latest", "4Gi", "50Mi", "30m", "prefix"]),
)


@given(SCALAR_PATTERNS, CURRENT_VALUES, st.sampled_from(["", "image"]), st.booleans())
def test_exact_proposals_always_match(
    pattern: str, current: Any, field: str, as_text: bool
) -> None:
    """An exact proposal matches; a guided one holds a placeholder."""
    proposal = satisfying_value(pattern, current, field=field, as_text=as_text)

    assert proposal is not None
    value, guided = proposal
    if not guided:
        assert values.value_matches(value, pattern)
    else:
        assert values_synthesis.has_placeholder(value)
