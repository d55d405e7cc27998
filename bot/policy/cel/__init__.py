"""CEL policies: Kyverno `validate.cel`, Kyverno ValidatingPolicy, Kubernetes VAP.

The public surface is the three evaluators, their outcome, and the lookups
that stand in for a cluster. Everything that knows the CEL library lives in
`environment`; the extension modules are plain Python.
"""

from bot.policy.cel.evaluation import CelOutcome
from bot.policy.cel.kyverno_cel import evaluate_validate_cel
from bot.policy.cel.lookups import Lookups, from_context_document
from bot.policy.cel.vap import evaluate_vap
from bot.policy.cel.vpol import evaluate_validating_policy

__all__ = [
    "CelOutcome",
    "Lookups",
    "evaluate_validate_cel",
    "evaluate_validating_policy",
    "evaluate_vap",
    "from_context_document",
]
