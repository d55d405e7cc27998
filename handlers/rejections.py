"""What the bot does when a rejection (or an admission) arrives.

One payload (an Event, an audit event, a policy report, kubectl's output)
goes through the layers in order:

1. `bot.intake.parse` finds the rejection records and their violations;
2. `bot.intake.resolving` finds the manifest the team keeps: the request
   object when the payload carries it, else the top of the owner chain of
   the object it names (through the injected `OwnerLookup`);
3. the team registry says who owns the workload and where to tell them;
4. `bot.notify` counts the rejection in its group and, when it is news,
   composes the notice (explanation and fix) and hands the message to the
   outbox.

An admission in the stream (`bot.notify.admissions`) resolves the messages of
its workload instead. Every step that fails for one record is logged and
skipped, so one bad record never costs the others their message; a
`TemporaryError` (the API server is away) goes back to the caller to retry.

Two things keep a burst from piling up. Owner chains are cached for half a
minute (`OwnerCache`), since a controller repeats the same rejection every few
seconds. And a rejection that already waited longer than `fix_budget` is
posted with its explanation at once, while its fix is proven afterwards, one
per turn of the event loop, and added to the message.

The time from receiving a payload to handing its outcome on is measured
(`Latencies`, and the `policybot_latency_seconds` histogram when metrics are
given): that is the delay a team sees before Slack has the message.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot import health
from bot.errors import PermanentError, PolicybotError
from bot.intake import parse, resolving, violations
from bot.intake.resolving import OwnerLookup
from bot.intake.teams import Ownership, Registry
from bot.intake.violations import Record
from bot.notify import admissions, grouping, notices
from bot.notify.delivery import Notifier, Outcome
from bot.notify.notices import Knowledge
from bot.slack.messages import Notice, Workload

logger = logging.getLogger(__name__)

LATENCY_SAMPLES = 100_000
"""Latencies kept for percentiles; older ones are dropped."""
FIX_BUDGET_SECONDS = 0.1
"""A rejection that waited longer than this gets its message now and its fix
later: proving fixes for a burst of new workloads must not delay the rest."""
OWNER_CACHE_SECONDS = 30.0
OWNER_CACHE_ENTRIES = 4096


class NamespaceLookup(Protocol):
    """Reads a Namespace object, whose labels usually name the owning team."""

    async def read_namespace(self, name: str) -> Mapping[str, Any] | None: ...


@dataclass
class Latencies:
    """Seconds from receiving a payload to handing on each of its outcomes."""

    samples: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def add(self, seconds: float) -> None:
        self.samples.append(seconds)

    def percentile(self, fraction: float) -> float:
        """The latency below which `fraction` of the samples lie (0 when none)."""
        if not self.samples:
            return 0.0
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def __len__(self) -> int:
        return len(self.samples)


class OwnerCache:
    """Workload manifests found through owner chains, kept for a short while.

    A controller repeats its rejection every few seconds for as long as it
    fails, and each repeat would cost the same two or three reads of the API
    server to find the same workload. Misses are kept too (an object that is
    gone stays gone). Thirty seconds is short enough that a fixed workload is
    read afresh before a new message could need it.
    """

    def __init__(
        self,
        *,
        seconds: float = OWNER_CACHE_SECONDS,
        entries: int = OWNER_CACHE_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.seconds = seconds
        self.entries = entries
        self.clock = clock
        self._found: OrderedDict[tuple[str, str, str], tuple[float, dict[str, Any] | None]] = (
            OrderedDict()
        )

    def get(self, key: tuple[str, str, str]) -> tuple[bool, dict[str, Any] | None]:
        """(whether it is known, the manifest or None for a known miss)."""
        found = self._found.get(key)
        if found is None or self.clock() - found[0] > self.seconds:
            return False, None
        self._found.move_to_end(key)
        return True, found[1]

    def put(self, key: tuple[str, str, str], manifest: dict[str, Any] | None) -> None:
        self._found[key] = (self.clock(), manifest)
        self._found.move_to_end(key)
        while len(self._found) > self.entries:
            self._found.popitem(last=False)


@dataclass
class Handled:
    """What became of one payload's violations."""

    posted: int = 0
    updated: int = 0
    counted: int = 0
    resolved: int = 0
    """Messages marked resolved by an admission."""
    skipped: int = 0
    """Records naming no workload, or whose handling failed."""

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class RejectionHandler:
    """Turns rejection payloads into team messages; see the module docstring.

    Args:
        registry: the teams, and who owns what.
        knowledge: the policies and explanations to explain and fix with.
        notifier: groups repeats and hands messages to the outbox.
        owners: walks owner chains in the cluster; without it, only payloads
            that carry their object (audit events) get a fix.
        namespaces: reads Namespaces for ownership labels; optional.
        metrics: the bot's Prometheus series; optional.
        clock: the time of a payload that comes without one.
    """

    def __init__(
        self,
        *,
        registry: Registry,
        knowledge: Knowledge,
        notifier: Notifier,
        owners: OwnerLookup | None = None,
        namespaces: NamespaceLookup | None = None,
        metrics: health.Metrics | None = None,
        clock: Callable[[], datetime.datetime] = _utcnow,
    ) -> None:
        self.registry = registry
        self.knowledge = knowledge
        self.notifier = notifier
        self.owners = owners
        self.namespaces = namespaces
        self.metrics = metrics
        self.clock = clock
        self.latencies = Latencies()
        self.owner_cache = OwnerCache()
        self.fix_budget = FIX_BUDGET_SECONDS
        self._fixer: asyncio.Task[None] | None = None

    async def handle(
        self,
        payload: str | Mapping[str, Any],
        *,
        involved: Mapping[str, Any] | None = None,
        at: datetime.datetime | None = None,
        received: float | None = None,
        source: str = "events",
    ) -> Handled:
        """Handle one payload: notify its rejections, resolve on its admission.

        Args:
            payload: what a source delivered, as text or decoded.
            involved: the object the payload hangs on, when the source knows
                it (an Event's `involvedObject`): the controller of a Pod
                that was refused, which leads to the workload.
            at: when it happened; now when left out.
            received: `time.perf_counter()` when it arrived, for the latency.
            source: a label for the metrics (events, audit, reports).
        """
        received = time.perf_counter() if received is None else received
        at = at or self.clock()
        handled = Handled()
        if self.metrics is not None:
            self.metrics.rejections_seen.inc(source=source)

        # Rejections first: a payload that admits an object with an audit
        # finding must count the finding before the admission resolves.
        for record in parse(payload):
            if record.violations:
                await self._handle_record(record, involved, at=at, received=received, into=handled)

        admission = admissions.find_admission(payload)
        if admission is not None:
            handled.resolved += await self._admit(admission, at=at)
            self._observe(received, outcome="resolved")
        self._complete_fixes_soon()
        return handled

    async def flush(self, *, force: bool = False, budget: float = FIX_BUDGET_SECONDS) -> int:
        """Catch up: fixes left out under load, then counts that lag behind.

        The app calls it on a timer, and whenever it is idle. It spends at
        most about `budget` seconds, so a burst that arrives meanwhile waits
        little; `force` (on shutdown) does all of it regardless of time.

        Returns how many messages were updated.
        """
        at = self.clock()
        if force:
            fixed = await self.notifier.complete_fixes(at=at)
            return fixed + await self.notifier.flush(at=at, force=True)
        started = time.perf_counter()
        fixed = await self.notifier.complete_fixes(at=at, budget=budget)
        left = max(0.0, budget - (time.perf_counter() - started))
        return fixed + await self.notifier.flush(at=at, budget=left)

    def _complete_fixes_soon(self) -> None:
        """Start working off fixes left out under load, unless that is under way."""
        if self.notifier.fixes_pending and (self._fixer is None or self._fixer.done()):
            self._fixer = asyncio.get_running_loop().create_task(self._complete_fixes())

    async def _complete_fixes(self) -> None:
        # One fix per turn of the event loop, so that arriving rejections
        # wait for one fix at most, never for the whole backlog.
        while self.notifier.fixes_pending:
            await asyncio.sleep(0)
            try:
                await self.notifier.complete_fixes(at=self.clock(), limit=1)
            except PolicybotError as error:
                logger.warning("Could not add the fixes left out under load: %s", error)
                return

    async def _handle_record(
        self,
        record: Record,
        involved: Mapping[str, Any] | None,
        *,
        at: datetime.datetime,
        received: float,
        into: Handled,
    ) -> None:
        # The workload: the team's manifest when we can find it, else the
        # object the source hangs the rejection on, else the one it names.
        named = involved or _reference(record.resource)
        log = _log_for(named, policy=_policy_of(record))
        if named is None and record.request_object is None:
            log.info("Skipping a %s record that names no object.", record.engine or "generic")
            into.skipped += len(record.violations)
            return
        manifest = await self._manifest(record, named, log=log)
        fallback = _workload_from(named) or _workload_from(_reference(record.resource))
        workload = notices.workload_of(manifest, fallback=fallback or Workload("object", None, ""))
        ownership = await self._owner(workload, manifest)
        fixes = notices.FixCache(manifest) if manifest is not None else None

        # One message per violated rule; the notice is composed only if new.
        for violation in record.violations:
            key = grouping.GroupKey.make(
                kind=workload.kind,
                namespace=workload.namespace,
                name=workload.name,
                policy=violation.policy,
                rule=violation.rule,
            )
            compose = _Composer(violation, key.digest, workload, ownership, self.knowledge, fixes)
            log = _log_for(
                {"kind": workload.kind, "namespace": workload.namespace, "name": workload.name},
                policy=f"{violation.policy}/{violation.rule}",
            )
            try:
                outcome = await self.notifier.deliver(
                    key,
                    at=at,
                    channel=ownership.team.channel,
                    blocking=violation.action == "deny",
                    compose=compose,
                    fix_now=time.perf_counter() - received <= self.fix_budget,
                )
            except PermanentError as error:
                log.error("Could not notify team %s: %s", ownership.team.name, error)
                into.skipped += 1
                continue
            into.add(outcome)
            self._observe(received, outcome=outcome)
            log.info(
                "Rejection of %s by %s/%s %s for team %s.",
                workload,
                violation.policy,
                violation.rule,
                outcome,
                ownership.team.name,
            )

    async def _manifest(
        self,
        record: Record,
        named: Mapping[str, Any] | None,
        *,
        log: logging.LoggerAdapter[logging.Logger],
    ) -> dict[str, Any] | None:
        # A request object is the manifest; a name is looked up, once a while.
        key = None
        if record.request_object is None and named is not None:
            key = (
                str(named.get("kind")),
                str(named.get("namespace") or ""),
                str(named.get("name")),
            )
            known, manifest = self.owner_cache.get(key)
            if known:
                return manifest
        try:
            resolution = await resolving.resolve(
                request=record.request_object, involved=named, owners=self.owners
            )
            manifest = resolution.manifest
        except PermanentError as error:
            log.debug("No manifest to fix: %s", error)
            manifest = None
        if key is not None:
            self.owner_cache.put(key, manifest)
        return manifest

    async def _owner(self, workload: Workload, manifest: Mapping[str, Any] | None) -> Ownership:
        namespace = None
        if self.namespaces is not None and workload.namespace:
            try:
                namespace = await self.namespaces.read_namespace(workload.namespace)
            except PermanentError as error:
                logger.warning(
                    "Could not read namespace %s for its owner; using labels only: %s",
                    workload.namespace,
                    error,
                )
        return self.registry.find_owner(namespace=namespace, workload=manifest)

    async def _admit(self, admission: admissions.Admission, *, at: datetime.datetime) -> int:
        log = _log_for(admission.involved or _reference_of(admission.request), policy="")
        try:
            resolution = await resolving.resolve(
                request=admission.request, involved=admission.involved, owners=self.owners
            )
            manifest: Mapping[str, Any] | None = resolution.manifest
        except PermanentError as error:
            log.debug("Admitted object not followed to its workload: %s", error)
            manifest = None
        fallback = _workload_from(admission.involved) or _workload_from(
            _reference_of(admission.request)
        )
        if fallback is None and manifest is None:
            return 0
        workload = notices.workload_of(manifest, fallback=fallback or Workload("object", None, ""))
        resolved = await self.notifier.resolve(
            grouping.workload_id(workload.kind, workload.namespace, workload.name), at=at
        )
        if resolved:
            log.info("%s was admitted; %d of its messages are resolved.", workload, resolved)
        return resolved

    def _observe(self, received: float, *, outcome: str) -> None:
        seconds = time.perf_counter() - received
        self.latencies.add(seconds)
        if self.metrics is not None:
            self.metrics.latency.observe(seconds, kind="rejection")
            self.metrics.rejections_notified.inc(outcome=outcome)


@dataclass(frozen=True)
class _Composer:
    """Builds one violation's notice, with its fix now or without it for later."""

    violation: violations.Violation
    key: str
    workload: Workload
    ownership: Ownership
    knowledge: Knowledge
    fixes: notices.FixCache | None

    def __call__(self, with_fix: bool) -> Notice:
        return notices.build(
            self.violation,
            key=self.key,
            workload=self.workload,
            ownership=self.ownership,
            knowledge=self.knowledge,
            fixes=self.fixes,
            with_fix=with_fix,
        )


def _reference(resource: violations.ResourceRef) -> dict[str, Any] | None:
    if not resource.kind or not resource.name:
        return None
    return {"kind": resource.kind, "namespace": resource.namespace or "", "name": resource.name}


def _reference_of(manifest: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if manifest is None:
        return None
    metadata = manifest.get("metadata") or {}
    if not manifest.get("kind") or not metadata.get("name"):
        return None
    return {
        "kind": manifest["kind"],
        "namespace": metadata.get("namespace") or "",
        "name": metadata["name"],
    }


def _workload_from(reference: Mapping[str, Any] | None) -> Workload | None:
    if reference is None or not reference.get("kind") or not reference.get("name"):
        return None
    return Workload(
        kind=str(reference["kind"]),
        namespace=str(reference.get("namespace") or "") or None,
        name=str(reference["name"]),
    )


def _policy_of(record: Record) -> str:
    return ", ".join(sorted({f"{v.policy}/{v.rule}" for v in record.violations}))


def _log_for(
    reference: Mapping[str, Any] | None, *, policy: str
) -> logging.LoggerAdapter[logging.Logger]:
    """A logger whose records carry the object and the policy in `extra`."""
    reference = reference or {}
    extra = {
        "namespace": str(reference.get("namespace") or ""),
        "kind": str(reference.get("kind") or ""),
        "object_name": str(reference.get("name") or ""),  # NB: `name` is taken by LogRecord
        "policy_id": policy,
    }
    return logging.LoggerAdapter(logger, extra)
