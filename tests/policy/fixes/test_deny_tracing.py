"""Tracing JMESPath values back to the fields that produced them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.policy import jmespath
from bot.policy.fixes import deny_tracing
from bot.policy.fixes.deny_tracing import (
    Container,
    Path,
    container_of,
    items_of,
    locate,
    trace,
)

SPEC = ("request", "object", "spec")
DATA: dict[str, Any] = {
    "request": {
        "object": {
            "metadata": {"annotations": {"a": "root x;", "b": "fine"}},
            "spec": {
                "initContainers": [{"name": "init", "ports": [{"hostPort": 5001}]}],
                "containers": [
                    {
                        "name": "app",
                        "ports": [{"hostPort": 80}, {"containerPort": 8080}],
                        "securityContext": {"capabilities": {"add": ["NET_RAW", "CHOWN"]}},
                    },
                    {"name": "sidecar"},
                ],
                "volumes": [{"name": "data", "hostPath": {"path": "/data"}}],
                "actions": [{"action": "backup"}],
            },
        }
    },
    "element": {"name": "app", "securityContext": {}},
}


def _item_paths(expression: str) -> list[tuple[Any, Any]]:
    traced = trace(expression, DATA)
    assert traced is not None
    return [(item.value, item.path) for item in items_of(traced)]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        (
            "request.object.spec.[ephemeralContainers, initContainers, containers][]"
            ".ports[].hostPort",
            [
                (5001, (*SPEC, "initContainers", 0, "ports", 0, "hostPort")),
                (80, (*SPEC, "containers", 0, "ports", 0, "hostPort")),
            ],
        ),
        (
            "request.object.spec.containers[].securityContext.capabilities.add[]",
            [
                ("NET_RAW", (*SPEC, "containers", 0, "securityContext", "capabilities", "add", 0)),
                ("CHOWN", (*SPEC, "containers", 0, "securityContext", "capabilities", "add", 1)),
            ],
        ),
        (
            "request.object.spec.volumes[].keys(@)[] || ''",
            [
                ("name", (*SPEC, "volumes", 0, "name")),
                ("hostPath", (*SPEC, "volumes", 0, "hostPath")),
            ],
        ),
        (
            "request.object.spec.containers[?name == 'sidecar']",
            [({"name": "sidecar"}, (*SPEC, "containers", 1))],
        ),
        (
            "request.object.metadata.annotations.values(@)[].regex_match('root', @)",
            [
                (True, ("request", "object", "metadata", "annotations", "a")),
                (False, ("request", "object", "metadata", "annotations", "b")),
            ],
        ),
    ],
)
def test_list_items_keep_their_own_place(expression: str, expected: list[Any]) -> None:
    """Flattened, filtered and mapped elements each point at their source."""
    assert _item_paths(expression) == expected


@pytest.mark.parametrize(
    ("expression", "container"),
    [
        (
            "element.securityContext.capabilities.drop[] || `[]`",
            Container(("element", "securityContext", "capabilities", "drop")),
        ),
        (
            "element.securityContext.capabilities.drop[].to_upper(@) || `[]`",
            Container(("element", "securityContext", "capabilities", "drop")),
        ),
        ("element.keys(@)[]", Container(("element",), keys=True)),
        ("request.object.spec.actions[].action", Container((*SPEC, "actions"), field="action")),
        (
            "request.object.spec.containers[].resources.keys(@)[]",
            Container((*SPEC, "containers", 0, "resources"), keys=True, chosen=True),
        ),
    ],
)
def test_lists_know_where_a_new_element_goes(expression: str, container: Container) -> None:
    """Missing lists, key lists and object fields still say where to add."""
    traced = trace(expression, DATA)

    assert traced is not None
    assert container_of(traced) == container


@pytest.mark.parametrize(
    "expression",
    [
        "request.object.spec.[ephemeralContainers, initContainers, containers][].ports[].hostPort",
        "request.object.spec.volumes[].keys(@)[] || ''",
        "element.securityContext.capabilities.drop[] || `[]`",
        "keys(request.object.spec) | contains(@, 'volumes')",
        "request.object.spec.containers[] | length(@)",
        "request.object.spec.containers[-1].name",
        "request.object.spec.containers[?name == 'app'].ports[].hostPort || `[]`",
        "request.object.spec.*.name",
        "request.object.spec.containers[0:1]",
        "request.object.spec.containers[].resources.keys(@)[]",
        "request.object.spec.containers[].securityContext.capabilities.add[] || ''",
        "element.securityContext.capabilities.drop[] || `[]` | length(@)",
        "request.object.spec.containers[].[name, image]",
        "request.object.metadata.annotations.keys(@)[?contains(@, 'a')]",
    ],
)
def test_traced_values_equal_the_engines(expression: str) -> None:
    """The tags never change the value the engine would compute."""
    traced = trace(expression, DATA)

    assert traced is not None
    assert traced.value == jmespath.search(expression, DATA, missing_key_errors=True)


@pytest.mark.parametrize(
    "expression",
    [
        "request.object.spec.nothing",
        "element.securityContext.capabilities.drop",
        "request.object.spec.containers[0].name && request.object.spec.nothing",
    ],
)
def test_an_unforgiven_missing_key_is_no_trace(expression: str) -> None:
    """Where the engine fails on a missing key, so does tracing."""
    with pytest.raises(jmespath.KeyNotFoundError):
        jmespath.search(expression, DATA, missing_key_errors=True)

    assert trace(expression, DATA) is None


def test_functions_of_one_field_are_derived_from_it() -> None:
    """A computed scalar remembers its source but cannot be written back."""
    traced = trace("to_upper(element.name)", DATA)

    assert traced is not None
    assert (traced.value, traced.path, traced.derived) == ("APP", ("element", "name"), True)


def test_contains_and_length_describe_their_list() -> None:
    """Aggregates keep the list they were computed from."""
    traced = trace("contains(request.object.spec.containers[].name, 'app')", DATA)

    assert traced is not None
    assert traced.aggregate is not None
    assert traced.aggregate.function == "contains"
    assert traced.aggregate.needle == "app"
    assert traced.aggregate.subject.value == ["app", "sidecar"]


def test_broken_expressions_are_not_traced() -> None:
    """A function error means no trace, not a guess."""
    assert deny_tracing.trace("base64_decode(`1`)", DATA) is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("request", "object", "spec", "x"), ("spec", "x")),
        (("element", "image"), ("spec", "containers", 0, "image")),
        (("request", "userInfo"), None),
        (None, None),
    ],
)
def test_locate_maps_data_paths_to_the_manifest(path: Any, expected: Any) -> None:
    """request.object and the element map to their manifest places."""
    roots: dict[Path, Path] = {
        ("request", "object"): (),
        ("element",): ("spec", "containers", 0),
    }

    assert locate(path, roots) == expected
