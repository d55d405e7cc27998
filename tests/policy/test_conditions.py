"""Preconditions and deny conditions: any/all blocks, legacy lists, messages."""

import pytest

from bot.policy.conditions import ConditionError, evaluate
from bot.policy.contexts import EvaluationContext

DATA = {"request": {"operation": "CREATE", "object": {"metadata": {"name": "web"}}}, "n": 3}


def _context():
    return EvaluationContext(dict(DATA))


def _is(value, message=""):
    """A condition on `n` that holds exactly when n == value."""
    condition = {"key": "{{ n }}", "operator": "Equals", "value": value}
    if message:
        condition["message"] = message
    return condition


YES = _is(3)
NO = _is(4)


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        (None, True),
        ({}, True),
        ({"any": [NO, YES]}, True),
        ({"any": [NO, NO]}, False),
        ({"any": []}, False),
        ({"all": [YES, YES]}, True),
        ({"all": [YES, NO]}, False),
        ({"all": []}, True),
        ({"any": [YES], "all": [YES]}, True),
        ({"any": [YES], "all": [NO]}, False),
        ({"any": [NO], "all": [YES]}, False),
        ([YES, YES], True),
        ([YES, NO], False),
        ([], True),
    ],
)
def test_block_verdicts(conditions, expected):
    """any needs one true condition, all needs every one, both must hold."""
    holds, _ = evaluate(conditions, _context())

    assert holds is expected


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"any": [_is(4, "a"), _is(3, "b"), _is(3, "c")]}, (True, "b")),
        ({"all": [_is(3, "a"), _is(3), _is(3, "c")]}, (True, "a; c")),
        ({"any": [_is(3, "a")], "all": [_is(3, "b")]}, (True, "a; b")),
        ({"any": [_is(4, "a"), _is(4, "b")]}, (False, "a; b")),
        ({"all": [_is(3, "a"), _is(4, "b"), _is(4, "c")]}, (False, "b")),
        ({"any": [_is(4, "a")], "all": [_is(4, "b")]}, (False, "a; b")),
        ({"any": [_is(4, "a")], "all": [_is(3, "b")]}, (False, "a")),
        ([_is(3, "a"), _is(3, "b")], (True, "a;b")),
        ([_is(3, "a"), _is(4, "b"), _is(4, "c")], (False, "b")),
    ],
)
def test_messages_follow_kyverno_joining(conditions, expected):
    """The deciding conditions' messages come back, joined as Kyverno joins them."""
    result = evaluate(conditions, _context())

    assert result == expected


def test_all_block_runs_after_any_fails():
    """A failing any block does not stop the all block from being evaluated."""
    conditions = {"any": [_is(4)], "all": [{"key": "{{ missing }}", "operator": "Equals"}]}

    with pytest.raises(ConditionError):
        evaluate(conditions, _context())


def test_list_of_blocks_is_an_error():
    """Kyverno has no list-of-blocks form for rule preconditions."""
    with pytest.raises(ConditionError):
        evaluate([{"any": [_is(3)]}], _context())


@pytest.mark.parametrize(
    ("condition", "part"),
    [
        ({"key": "{{ missing }}", "operator": "Equals", "value": 1}, "condition key"),
        ({"key": 1, "operator": "Equals", "value": "{{ missing.x }}"}, "condition value"),
    ],
)
def test_unresolvable_variable_is_an_error(condition, part):
    """A variable that cannot be resolved makes the block an error, naming the side."""
    with pytest.raises(ConditionError) as caught:
        evaluate({"all": [condition]}, _context())

    message = str(caught.value)
    assert message.startswith(f"failed to substitute variables in {part}: ")
    assert "missing" in message


def test_variables_substitute_before_comparing():
    """Key and value are both substituted before the operator compares them."""
    condition = {"key": "{{ request.object.metadata.name }}", "operator": "Equals", "value": "web"}

    result = evaluate({"all": [condition]}, _context())

    assert result == (True, "")


@pytest.mark.parametrize(
    ("conditions", "problem"),
    [
        ({"all": [{"key": 1, "operator": "Resembles", "value": 1}]}, "Resembles"),
        ({"any": {"key": 1}}, "any must be a list"),
        ({"all": "yes"}, "all must be a list"),
        ({"all": ["text"]}, "must be a mapping"),
        ("text", "must be a mapping or a list"),
    ],
)
def test_malformed_conditions_are_errors(conditions, problem):
    """Unknown operators and wrong shapes are errors, not verdicts."""
    with pytest.raises(ConditionError, match=problem):
        evaluate(conditions, _context())
