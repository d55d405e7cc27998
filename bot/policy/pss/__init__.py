"""Pod Security Standards: PSA's checks, and Kyverno's `validate.podSecurity` on top.

`evaluate_pod` runs the baseline or restricted checks exactly as the
PodSecurity admission controller does, and `format_psa_message` prints its
denial. `pod_parts` finds the pod inside a workload. The Kyverno rule lives in
`bot.policy.pss.kyverno`.
"""

from bot.policy.pss.catalogue import evaluate_pod
from bot.policy.pss.pods import pod_parts
from bot.policy.pss.results import CheckResult, FieldViolation, format_psa_message

__all__ = ["CheckResult", "FieldViolation", "evaluate_pod", "format_psa_message", "pod_parts"]
