"""Intake: from whatever a user or the cluster hands us to rejection records.

`parse` reads kubectl output, Events, policy reports, Gatekeeper status and
logs, audit events and PSA warnings, and returns one `Record` per rejection
or report entry, each with the `Violation`s it names. The parsers are pure
functions over text and decoded objects; fetching those from a cluster is
another layer's job.
"""

from bot.intake.parsing import parse
from bot.intake.violations import (
    ENGINES,
    Action,
    Engine,
    Record,
    ResourceRef,
    Violation,
    kind_for_resource,
)

__all__ = [
    "ENGINES",
    "Action",
    "Engine",
    "Record",
    "ResourceRef",
    "Violation",
    "kind_for_resource",
    "parse",
]
