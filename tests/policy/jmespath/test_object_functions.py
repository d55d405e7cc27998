"""lookup, items, object_from_lists and label_match."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.policy.jmespath import JMESPathError, search


@pytest.mark.parametrize(
    ("collection", "key", "expected"),
    [
        ("{}", '"key1"', None),
        ('{"key1": "value1"}', '"key2"', None),
        ('{"key1": "value1"}', '"key1"', "value1"),
        ('{"": "value1"}', '""', "value1"),
        ('{"k": 12.34}', '"k"', 12.34),
        ('{"k": false}', '"k"', False),
        ('{"k": [7, "x", true]}', '"k"', [7, "x", True]),
        ("[]", "0", None),
        ('["item0"]', "-1", None),
        ('["item0"]', "1", None),
        ('["item0", "item1", "item2"]', "2", "item2"),
        ('["item0", "item1"]', "0.99999999999999999999999999999999999999999999", "item1"),
        ('[[7, "x"]]', "0", [7, "x"]),
    ],
)
def test_lookup_finds_keys_and_indexes(collection: str, key: str, expected: Any) -> None:
    result = search(f"lookup(`{collection}`, `{key}`)", {})

    assert result == expected


@pytest.mark.parametrize(
    ("collection", "key", "message"),
    [
        ("{}", "123", "argument #2 is not of type String"),
        ("[]", '"abc"', "argument #2 is not of type Number"),
        (
            "[]",
            "1.5",
            "JMESPath function 'lookup': argument #2: expected an integer number but got: 1.5",
        ),
        ('"text"', "0", "invalid type"),
    ],
)
def test_lookup_rejects_mismatched_keys(collection: str, key: str, message: str) -> None:
    with pytest.raises(JMESPathError) as caught:
        search(f"lookup(`{collection}`, `{key}`)", {})

    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("collection", "expected"),
    [
        ({"b": 2, "a": 1}, [{"k": "a", "v": 1}, {"k": "b", "v": 2}]),
        (["A", "B"], [{"k": 0, "v": "A"}, {"k": 1, "v": "B"}]),
        ({}, []),
    ],
)
def test_items_lists_entries_in_key_order(collection: Any, expected: Any) -> None:
    assert search("items(@, 'k', 'v')", collection) == expected


def test_items_needs_string_names() -> None:
    with pytest.raises(JMESPathError, match="invalid type"):
        search("items(@, `1`, 'v')", {"a": 1})


@pytest.mark.parametrize(
    ("keys", "values", "expected"),
    [
        (["key1", "key2"], ["1", "2"], {"key1": "1", "key2": "2"}),
        (["key1", "key2"], [1], {"key1": 1, "key2": None}),
        ([1, 2.5, True], ["a", "b", "c"], {"1": "a", "2.5": "b", "true": "c"}),
        ([123456789], ["x"], {"123456790": "x"}),
        ([], ["x"], {}),
    ],
)
def test_object_from_lists_pairs_keys_with_values(keys: Any, values: Any, expected: Any) -> None:
    data = {"keys": keys, "values": values}

    assert search("object_from_lists(keys, values)", data) == expected


def test_object_from_lists_rejects_object_keys() -> None:
    with pytest.raises(JMESPathError, match="argument #1 is not of type StringArray"):
        search("object_from_lists(`[{}]`, `[1]`)", {})


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ({"app": "test-app"}, True),
        ({"app": "test-app", "controller-name": "test-controller"}, True),
        ({"app": "test-app2"}, False),
        ({"app.kubernetes.io/name": "test-app"}, False),
        ({}, True),
        ({"replicas": 1.0}, True),
        ({"enabled": 1}, False),
        ({"nested": {"a": [1, "b"]}}, True),
    ],
)
def test_label_match_requires_every_wanted_label(wanted: dict[str, Any], expected: bool) -> None:
    labels = {
        "app": "test-app",
        "controller-name": "test-controller",
        "replicas": 1,
        "enabled": True,
        "nested": {"a": [1, "b"]},
    }
    expression = f"label_match(`{json.dumps(wanted)}`, metadata.labels)"

    assert search(expression, {"metadata": {"labels": labels}}) is expected
