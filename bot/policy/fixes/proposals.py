"""What a fix strategy hands back: a patch, what is left to decide, and why.

Every strategy (patterns, Pod Security checks, deny conditions) returns the
same shape, so that `synthesis` can apply, prove and label any of them the
same way. A proposal is never trusted on its own: synthesis evaluates the
patched manifest again before calling it exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.policy.fixes.patches import PatchOp


@dataclass(frozen=True)
class ProposedFix:
    ops: tuple[PatchOp, ...]
    """RFC 6902 operations against the original manifest, applied in order."""
    placeholders: tuple[str, ...] = ()
    """RFC 6901 pointers into the patched manifest where a person must supply
    or confirm a value; a proposal with any is guided, never exact."""
    summary: tuple[str, ...] = ()
    """One line per change, for people, in the order of the operations."""
