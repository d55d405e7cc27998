"""Fixing every failure of one manifest at once.

Fixes for different rules are derived from the same original manifest, so
two of them may touch the same map (both adding a securityContext, say) and
cannot simply be concatenated. Instead we apply one exact fix, evaluate
again, and derive the next fix from the patched manifest; the ops collected
along the way form one valid RFC 6902 patch against the original.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.policy import engine
from bot.policy.fixes import synthesis
from bot.policy.fixes.patches import PatchOp
from bot.policy.fixes.platform_defaults import NO_DEFAULTS, PlatformDefaults
from bot.policy.policies import Policy
from bot.policy.requests import AdmissionRequest

MAX_ROUNDS = 50
"""A safety bound: each round fixes at least one rule, and few manifests fail more."""


@dataclass(frozen=True)
class CombinedFix:
    ops: tuple[PatchOp, ...]
    fixed: Mapping[str, Any]
    fixed_rules: tuple[str, ...]
    """`policy/rule` of every failure the combined patch repairs."""


def combine(
    manifest: Mapping[str, Any],
    policies: Sequence[Policy],
    *,
    request: AdmissionRequest | None = None,
    inputs: engine.Inputs = engine.NO_INPUTS,
    defaults: PlatformDefaults = NO_DEFAULTS,
) -> CombinedFix:
    request = request or AdmissionRequest(object=dict(manifest))
    current = request
    ops: list[PatchOp] = []
    fixed_rules: list[str] = []
    unfixable: set[tuple[str, str]] = set()
    for _ in range(MAX_ROUNDS):
        before = engine.evaluate_all(policies, current, inputs)
        candidates = [
            r
            for r in before
            if r.status in ("fail", "warn") and (r.policy, r.rule) not in unfixable
        ]
        if not candidates:
            break
        progressed = False
        for failure in candidates:
            fix = synthesis.synthesize(
                failure, current, policies, before=before, inputs=inputs, defaults=defaults
            )
            if fix.status != "exact" or fix.fixed is None:
                unfixable.add((failure.policy, failure.rule))
                continue
            ops.extend(fix.ops)
            fixed_rules.append(f"{failure.policy}/{failure.rule}")
            current = dataclasses.replace(current, object=dict(fix.fixed))
            progressed = True
            break
        if not progressed:
            break
    return CombinedFix(tuple(ops), current.object, tuple(fixed_rules))
