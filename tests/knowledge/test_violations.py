"""Which explanation fits a parsed violation, for the CLI and the bot alike."""

from __future__ import annotations

from typing import Any

import pytest

from bot.cli import explaining
from bot.intake.violations import Violation
from bot.knowledge import catalog
from bot.knowledge.explaining import Explainer
from bot.knowledge.violations import known_explanation
from bot.notify import notices
from bot.policy import policies


@pytest.fixture(scope="module")
def explainer() -> Explainer:
    loaded = policies.load_policies(catalog.bundled_policy_paths())
    return Explainer(catalog.load_catalog(), {p.name: p for p in loaded})


def _violation(**fields: Any) -> Violation:
    values: dict[str, Any] = {
        "engine": "kyverno",
        "policy": None,
        "rule": None,
        "message": "denied",
        "action": "deny",
    }
    values.update(fields)
    return Violation(**values)


def test_pod_security_reason_finds_its_check(explainer: Explainer) -> None:
    """A PSA reason is looked up by the check id it stands for."""
    found = known_explanation(
        _violation(
            engine="psa", policy="restricted:latest", rule="allowPrivilegeEscalation != false"
        ),
        explainer,
    )

    assert found is not None
    assert found.source == "knowledge"
    assert "escalation" in found.title.lower()


def test_known_kyverno_rule_gets_its_entry(explainer: Explainer) -> None:
    """A rule the knowledge base covers is explained by its entry."""
    found = known_explanation(
        _violation(policy="disallow-host-path", rule="host-path-volumes"), explainer
    )

    assert found is not None
    assert found.source == "knowledge"


def test_bare_rule_message_finds_the_policy_that_has_it(explainer: Explainer) -> None:
    """A Kyverno message that names only its rule is matched to the policy holding it."""
    found = known_explanation(_violation(rule="host-path-volumes"), explainer)

    assert found is not None
    assert found.source == "knowledge"


def test_unknown_engines_and_rules_have_no_known_explanation(explainer: Explainer) -> None:
    """A Gatekeeper constraint we hold nothing about is left to the caller's fallback."""
    assert known_explanation(_violation(engine="gatekeeper", policy="k8sx"), explainer) is None
    assert known_explanation(_violation(rule="no-such-rule"), explainer) is None
    assert known_explanation(_violation(engine="psa", policy="baseline"), explainer) is None


def test_cli_and_bot_agree_when_the_knowledge_base_answers(explainer: Explainer) -> None:
    """Both front ends give the same entry; only their fallbacks differ."""
    found = _violation(rule="host-path-volumes")

    assert explaining.explain(found, explainer) == notices.explain(found, explainer)
    stranger = _violation(engine="gatekeeper", policy="k8sx", rule="r")
    assert explaining.explain(stranger, explainer).source == "rejection"
    assert notices.explain(stranger, explainer).source == "rejection"
