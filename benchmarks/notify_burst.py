"""A burst of rejections through the handler: messages posted, none lost, latency, memory.

Builds 200 Deployments (by default) in 20 team namespaces, each with one to
three deliberate mistakes, and a burst of 10,000 rejection events spread over
them at random: 80% of the workloads are refused through their ReplicaSet's
`FailedCreate` Event (the owner chain leads to the Deployment), 20% through an
audit event that carries the manifest. The messages are the Kyverno denials
the bundled policies give for each manifest, computed by the engine once at
setup, so what the handler reads is consistent with what it evaluates.

The events arrive at `--rate` per second of wall-clock time (1000 by
default; 0: all at once) and go through the real `RejectionHandler` into an
in-memory list (`--sink memory`, the default) or the real outbox on SQLite
(`--sink outbox`); the notification groups live in a SQLite file (`--store
file`, the default) or in memory. Their recorded times are 30 ms apart, so the
whole burst lies within one grouping window: every (workload, rule) must get
exactly one post. When no event waits, the consumer runs the handler's
budgeted `flush`, as the app's timer would.

Reported:

- posts, and the most posts any (workload, rule) got (must be 1);
- none lost: every rejection is counted in its group, and after the final
  flush every message shows its full count;
- event-to-outbox latency, p50 and p99 (target p99 < 250 ms): from the
  event's scheduled arrival to the hand-off of its outcome (a post or update
  enqueued, or the repeat counted in the store), so queueing behind slower
  events counts;
- peak memory: tracemalloc's peak over a second, untimed run of the same
  burst, and the process's ru_maxrss (target < 200 MB).

With `--sink outbox` the timed run's outbox is then delivered (`--no-deliver`
skips it): a fresh `Outbox` on the same SQLite file runs (`Outbox.run`)
against the fake Slack Web API of `tests/slackfake` over real HTTP on
127.0.0.1, with a fake clock that moves only when the outbox sleeps, so
minutes of Slack time pass in seconds. `--rate-limited N` scripts N 429s
with a `Retry-After` of 1 to 30 s, spread over the delivery. From the calls
the fake recorded, each stamped with the fake clock, it reports:

- every queued item delivered exactly once: each is done, successful
  `chat.postMessage` calls equal the post items, no outbox tag or message key
  was posted twice;
- at most one `chat.postMessage` a second in each channel, Slack's documented
  limit, counting refused attempts too; and each other method within its
  tier's calls per minute;
- every 429 honoured: no call to the same method (and channel, for `chat.*`)
  before its `Retry-After` had passed;
- the simulated delivery time, from the first call to the last.

    python benchmarks/notify_burst.py [--events N] [--workloads N] [--teams N]
        [--rate R] [--sink outbox|memory] [--store file|memory]
        [--no-deliver] [--rate-limited N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import copy
import datetime
import itertools
import json
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import PermanentError
from bot.intake.teams import Registry
from bot.knowledge.catalog import bundled_policy_paths
from bot.notify import Grouper, GroupKey, GroupSettings, Knowledge, Notifier
from bot.policy import engine, policies
from bot.policy.requests import AdmissionRequest
from bot.slack import new_web_client, outbox
from bot.slack.outbox import Outbox
from bot.store.outbox import ItemKind, ItemState
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from bot.store.sqlite_outbox import SQLiteOutboxStore
from handlers.rejections import RejectionHandler
from tests.slackfake import Call, Failure, FakeSlack

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
STREAM_GAP = datetime.timedelta(milliseconds=30)
IDLE_FLUSH_EVERY = 0.05
IDLE_FLUSH_BUDGET = 0.02
TARGET_P99_MS = 250
TARGET_MEMORY_MB = 200

# Slack's documented limits, written out here rather than taken from
# bot.slack.ratelimits, so the check cannot share a mistake with the pacing.
# https://docs.slack.dev/apis/web-api/rate-limits
POST_METHOD = "chat.postMessage"
POST_INTERVAL = 1.0
TIER_WINDOW = 60.0
TIER_CALLS = {
    "chat.update": 50,
    "chat.postEphemeral": 100,
    "conversations.history": 50,
    "conversations.join": 50,
    "conversations.replies": 50,
    "files.completeUploadExternal": 100,
    "files.getUploadURLExternal": 100,
}
UNKNOWN_TIER_CALLS = 20
# NB: the fake clock adds up float sleeps, so equal times may differ by ulps.
CLOCK_TOLERANCE = 1e-6
FAKE_CLOCK_START = 1000.0
RETRY_AFTERS = (1, 2, 5, 10, 30)
DELIVERY_POLL = 0.05

# Mistakes a workload may carry; each breaks one or more baseline rules.
MISTAKES = (
    "latest-tag",
    "privilege-escalation",
    "root",
    "no-resources",
    "host-path",
    "privileged",
    "host-network",
    "no-labels",
)


@dataclass(frozen=True)
class Workload:
    namespace: str
    name: str
    manifest: dict[str, Any]
    replica_set: dict[str, Any]
    payload: dict[str, Any]
    involved: dict[str, Any] | None
    rules: tuple[tuple[str, str], ...]
    """(policy, rule) pairs its payload names."""


class Cluster:
    """Owner chains and Namespaces for the generated workloads."""

    def __init__(self, workloads: list[Workload], namespaces: dict[str, dict[str, Any]]) -> None:
        self.namespaces = namespaces
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        for workload in workloads:
            self.objects[("Deployment", workload.namespace, workload.name)] = workload.manifest
            rs_name = workload.replica_set["metadata"]["name"]
            self.objects[("ReplicaSet", workload.namespace, rs_name)] = workload.replica_set

    async def find_top_manifest(
        self, *, api_version: str, kind: str, namespace: str, name: str
    ) -> Mapping[str, Any]:
        current = self.objects.get((kind, namespace, name))
        if current is None:
            raise PermanentError(f"{kind} {namespace}/{name} not found")
        for owner in current["metadata"].get("ownerReferences", []):
            current = self.objects[(owner["kind"], namespace, owner["name"])]
        return current

    async def read_namespace(self, name: str) -> Mapping[str, Any] | None:
        return self.namespaces.get(name)


class MemorySink:
    def __init__(self) -> None:
        self.items: list[outbox.Item] = []

    async def enqueue(self, item: outbox.Item) -> int:
        self.items.append(item)
        return len(self.items)


def build_manifest(namespace: str, name: str, mistakes: set[str]) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": f"registry.example.com/{namespace}/{name}:1.4.2",
        "securityContext": {"allowPrivilegeEscalation": False},
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"memory": "128Mi"},
        },
    }
    pod: dict[str, Any] = {"securityContext": {"runAsNonRoot": True}, "containers": [container]}
    labels = {"app.kubernetes.io/name": name, "team": namespace.removeprefix("ns-")}
    if "latest-tag" in mistakes:
        container["image"] = f"registry.example.com/{namespace}/{name}:latest"
    if "privilege-escalation" in mistakes:
        del container["securityContext"]
    if "root" in mistakes:
        del pod["securityContext"]
    if "no-resources" in mistakes:
        del container["resources"]
    if "host-path" in mistakes:
        container["volumeMounts"] = [{"name": "host", "mountPath": "/host"}]
        pod["volumes"] = [{"name": "host", "hostPath": {"path": "/var/lib/data"}}]
    if "privileged" in mistakes:
        container.setdefault("securityContext", {})["privileged"] = True
    if "host-network" in mistakes:
        pod["hostNetwork"] = True
    if "no-labels" in mistakes:
        labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {"metadata": {"labels": dict(labels)}, "spec": pod},
        },
    }


def kyverno_denial(resource: str, failures: list[tuple[str, str, str, str]]) -> str:
    """Kyverno's enforce denial for these (policy, rule, message, path) failures."""
    lines = [
        'admission webhook "validate.kyverno.svc-fail" denied the request: ',
        "",
        f"resource {resource} was blocked due to the following policies ",
        "",
    ]
    by_policy: dict[str, list[str]] = collections.defaultdict(list)
    for policy, rule, message, path in failures:
        text = f"validation error: {message} rule {rule} failed at path {path}"
        by_policy[policy].append(f"  {rule}: '{text}'")
    for policy, rules in by_policy.items():
        lines.append(f"{policy}:")
        lines.extend(rules)
    return "\n".join(lines) + "\n"


def build_workloads(args: argparse.Namespace, loaded: list[policies.Policy]) -> list[Workload]:
    rng = random.Random(args.seed)
    workloads = []
    for index in range(args.workloads):
        namespace = f"ns-{index % args.teams:02d}"
        name = f"app-{index:03d}"
        mistakes = set(rng.sample(MISTAKES, rng.randint(1, 3)))
        manifest = build_manifest(namespace, name, mistakes)
        via_audit = rng.random() < 0.2

        # The failures the engine finds: on the Deployment for an audit event,
        # on its Pod for a ReplicaSet's FailedCreate.
        subject = manifest if via_audit else _pod_of(manifest)
        results = engine.evaluate_all(loaded, AdmissionRequest(object=subject))
        failures = [
            (r.policy, r.rule, " ".join(r.message.split()), r.path or "/")
            for r in results
            if r.status == "fail"
        ]
        rules = tuple((policy, rule) for policy, rule, _, _ in failures)
        rs_name = f"{name}-{index:05x}"
        replica_set = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": rs_name,
                "namespace": namespace,
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "Deployment",
                        "name": name,
                        "controller": True,
                    }
                ],
            },
        }
        if via_audit:
            payload = _audit_event(namespace, name, manifest, failures)
            involved = None
        else:
            involved = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "namespace": namespace,
                "name": rs_name,
            }
            payload = _failed_create(involved, namespace, failures)
        workloads.append(Workload(namespace, name, manifest, replica_set, payload, involved, rules))
    return [w for w in workloads if w.rules]


def _pod_of(manifest: dict[str, Any]) -> dict[str, Any]:
    template = manifest["spec"]["template"]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**template["metadata"], "namespace": manifest["metadata"]["namespace"]},
        "spec": copy.deepcopy(template["spec"]),
    }


def _failed_create(
    involved: dict[str, Any], namespace: str, failures: list[tuple[str, str, str, str]]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{involved['name']}.1", "namespace": namespace},
        "involvedObject": involved,
        "reason": "FailedCreate",
        "type": "Warning",
        "source": {"component": "replicaset-controller"},
        "message": "Error creating: " + kyverno_denial(f"Pod/{namespace}/", failures),
    }


def _audit_event(
    namespace: str, name: str, manifest: dict[str, Any], failures: list[tuple[str, str, str, str]]
) -> dict[str, Any]:
    return {
        "apiVersion": "audit.k8s.io/v1",
        "kind": "Event",
        "verb": "create",
        "user": {"username": "ci@example.com"},
        "objectRef": {"resource": "deployments", "namespace": namespace, "apiGroup": "apps"},
        "responseStatus": {
            "code": 400,
            "message": kyverno_denial(f"Deployment/{namespace}/{name}", failures),
        },
        "requestObject": manifest,
    }


@dataclass
class Run:
    posts: int
    updates: int
    uploads: int
    max_posts_per_key: int
    keys: int
    counted: int
    expected: int
    fully_shown: bool
    deferred_fixes: int
    fixes_left: int
    latencies_ms: list[float]
    wall_seconds: float
    service_seconds: float


async def run_burst(
    args: argparse.Namespace,
    workloads: list[Workload],
    knowledge: Knowledge,
    registry: Registry,
    cluster: Cluster,
    *,
    rate: float,
    directory: Path,
) -> Run:
    rng = random.Random(args.seed + 1)
    stream = [rng.choice(workloads) for _ in range(args.events)]
    store_path: str | Path = ":memory:" if args.store == "memory" else directory / "groups.db"
    groups = SQLiteNotificationGroups(store_path)
    outbox_store = None
    sink: Any
    if args.sink == "outbox":
        outbox_store = SQLiteOutboxStore(directory / "outbox.db")
        sink = Outbox(outbox_store)
    else:
        sink = MemorySink()
    recorder = _Recorder(sink)
    now = [T0]
    settings = GroupSettings(update_interval=datetime.timedelta(seconds=args.update_interval))
    handler = RejectionHandler(
        registry=registry,
        knowledge=knowledge,
        notifier=Notifier(Grouper(groups, settings), recorder),
        owners=cluster,
        namespaces=cluster,
        clock=lambda: now[0],
    )

    # Producer: events arrive at their scheduled wall-clock time.
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def produce() -> None:
        start = time.perf_counter()
        for index in range(len(stream)):
            due = start + (index / rate if rate > 0 else 0.0)
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait((index, due))
        queue.put_nowait(None)

    # Consumer: one handler, one event at a time, as the watch hands them on;
    # when no event waits, it catches up on fixes and counts, as the app does.
    service = 0.0
    deferred = 0
    started = last_flush = time.perf_counter()
    producer = asyncio.create_task(produce())
    while True:
        if queue.empty() and time.perf_counter() - last_flush > IDLE_FLUSH_EVERY:
            await handler.flush(budget=IDLE_FLUSH_BUDGET)
            last_flush = time.perf_counter()
        entry = await queue.get()
        if entry is None:
            break
        index, due = entry
        workload = stream[index]
        now[0] = T0 + STREAM_GAP * index
        pending = handler.notifier.fixes_pending
        begin = time.perf_counter()
        await handler.handle(
            workload.payload,
            involved=workload.involved,
            at=now[0],
            received=due,
        )
        service += time.perf_counter() - begin
        deferred += max(0, handler.notifier.fixes_pending - pending)
    await producer
    await handler.flush(force=True)
    wall = time.perf_counter() - started

    # Every rejection counted, every count shown.
    expected: collections.Counter[str] = collections.Counter()
    for workload in stream:
        for policy, rule in workload.rules:
            key = GroupKey.make(
                kind="Deployment",
                namespace=workload.namespace,
                name=workload.name,
                policy=policy,
                rule=rule,
            )
            expected[key.digest] += 1
    stored = {key: groups.get_group(key) for key in expected}
    counted = sum(g.count for g in stored.values() if g is not None)
    fully_shown = all(g is not None and g.shown_count == g.count for g in stored.values())
    per_key = collections.Counter(p.key.split(".")[0] for p in recorder.posts if p.key)
    groups.close()
    if outbox_store is not None:
        outbox_store.close()

    return Run(
        posts=len(recorder.posts),
        updates=recorder.updates,
        uploads=recorder.uploads,
        max_posts_per_key=max(per_key.values(), default=0),
        keys=len(expected),
        counted=counted,
        expected=sum(expected.values()),
        fully_shown=fully_shown and counted == sum(expected.values()),
        deferred_fixes=deferred,
        fixes_left=handler.notifier.fixes_pending,
        latencies_ms=[s * 1000 for s in handler.latencies.samples],
        wall_seconds=wall,
        service_seconds=service,
    )


class _Recorder:
    """Passes items on to the sink, and counts them."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.posts: list[outbox.Post] = []
        self.updates = 0
        self.uploads = 0

    async def enqueue(self, item: outbox.Item) -> object:
        if isinstance(item, outbox.Post):
            self.posts.append(item)
        elif isinstance(item, outbox.Update):
            self.updates += 1
        elif isinstance(item, outbox.Upload):
            self.uploads += 1
        return await self.sink.enqueue(item)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass
class Delivery:
    items: int
    posts_queued: int
    updates_queued: int
    others_queued: int
    delivered: int
    failed: int
    left: int
    post_calls_ok: int
    posts_in_slack: int
    update_calls_ok: int
    duplicate_tags: int
    keys_posted_once: bool
    channels: int
    most_posts_in_a_second: int
    min_post_gap: float | None
    post_gap_violations: int
    busiest_method: str
    busiest_per_minute: int
    tier_violations: int
    scripted_429s: int
    answered_429s: int
    early_calls: int
    calls: int
    simulated_seconds: float
    real_seconds: float
    error: str

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and self.delivered == self.items
            and self.post_calls_ok == self.posts_in_slack == self.posts_queued
            and self.update_calls_ok == self.updates_queued
            and self.duplicate_tags == 0
            and self.keys_posted_once
            and self.post_gap_violations == 0
            and self.tier_violations == 0
            and self.early_calls == 0
        )


class FakeClock:
    """Monotonic seconds that pass only when the outbox sleeps."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


class CallLog(list[Call]):
    """The fake's list of calls, with the fake clock's time of each.

    It also scripts the 429s: at the planned call numbers it queues one for
    the next call to the method just called, and remembers its Retry-After,
    since the fake records the status but not the header.
    """

    def __init__(
        self, slack: FakeSlack, clock: FakeClock, *, plan: set[int], rng: random.Random
    ) -> None:
        super().__init__()
        self.times: list[float] = []
        self.retry_afters: list[float | None] = []
        self._slack = slack
        self._clock = clock
        self._plan = plan
        self._rng = rng
        self._scripted: dict[str, collections.deque[float]] = collections.defaultdict(
            collections.deque
        )
        self.scripted = 0

    def append(self, call: Call) -> None:
        super().append(call)
        self.times.append(self._clock())

        # The fake pops scripted failures per method in order, so the FIFO
        # pairs each 429 it answers with the Retry-After scripted for it.
        scripted = self._scripted[call.method]
        self.retry_afters.append(scripted.popleft() if call.status == 429 and scripted else None)
        if len(self) in self._plan and call.method in (POST_METHOD, "chat.update"):
            retry_after = float(self._rng.choice(RETRY_AFTERS))
            self._slack.fail_next(call.method, Failure.rate_limited(retry_after))
            scripted.append(retry_after)
            self.scripted += 1


async def deliver_outbox(args: argparse.Namespace, path: Path) -> Delivery:
    """Deliver what the burst left in the outbox at `path` to a fake Slack."""
    clock = FakeClock(FAKE_CLOCK_START)
    epoch = time.time() - FAKE_CLOCK_START
    rng = random.Random(args.seed + 2)
    with SQLiteOutboxStore(path) as store:
        queued = store.open_outbox_items()
        async with FakeSlack(clock=lambda: epoch + clock()) as slack:
            # The team channels, and the 429s spread over the first 80% of
            # the calls, so each meets more calls after it.
            for channel in sorted({item.channel for item in queued}):
                name = channel.removeprefix("#")
                slack.add_channel(name, id=None if channel.startswith("#") else channel)
            planned = range(1, max(2, int(len(queued) * 0.8)))
            plan = set(rng.sample(planned, min(args.rate_limited, len(planned))))
            # NB: this replaces the fake's own list, so each call it records
            # gets the fake clock's time.
            log = CallLog(slack, clock, plan=plan, rng=rng)
            slack.calls = log

            # The outbox runs until the queue is empty, or the time is up.
            box = Outbox(
                store,
                clock=clock,
                wall_clock=lambda: epoch + clock(),
                sleep=clock.sleep,
                jitter=rng.random,
            )
            client = new_web_client(slack.token, base_url=slack.base_url)
            stop = asyncio.Event()
            started = time.perf_counter()
            runner = asyncio.create_task(box.run(client, stop=stop))
            error = ""
            while not runner.done() and store.open_outbox_items():
                if time.perf_counter() - started > args.delivery_timeout:
                    error = f"not done after {args.delivery_timeout:g} s of real time"
                    break
                await asyncio.sleep(DELIVERY_POLL)
            stop.set()
            # A refused token (PermanentError) or any other end of the run
            # is reported, not raised: the figures so far still count.
            try:
                await asyncio.wait_for(runner, timeout=10)
            except Exception as e:
                error = error or f"Outbox.run failed: {type(e).__name__}: {e}"
            real = time.perf_counter() - started

            # Where each queued item ended; each post's message, and the
            # messages in Slack by the outbox tag in their metadata.
            states: collections.Counter[ItemState | None] = collections.Counter()
            for item in queued:
                stored = store.get_outbox_item(item.id)
                states[stored.state if stored is not None else None] += 1
            stamps: dict[str | None, list[str]] = collections.defaultdict(list)
            for channel in slack.channels.values():
                for message in channel.messages:
                    stamps[_tag_of(message)].append(message["ts"])
            tags = collections.Counter({t: len(s) for t, s in stamps.items() if t is not None})
            instance = store.outbox_instance()
            keys_once = all(
                [_ts_of(store, item.key)] == stamps.get(f"{instance}:{item.id}")
                for item in queued
                if item.kind is ItemKind.POST
            )
            names = {f"#{c.name}": c.id for c in slack.channels.values()}
        client_calls = list(zip(log.times, log, log.retry_afters, strict=True))

    kinds = collections.Counter(item.kind for item in queued)
    figures = _check_calls(client_calls, names)
    return Delivery(
        items=len(queued),
        posts_queued=kinds[ItemKind.POST],
        updates_queued=kinds[ItemKind.UPDATE],
        others_queued=len(queued) - kinds[ItemKind.POST] - kinds[ItemKind.UPDATE],
        delivered=states[ItemState.DONE],
        failed=states[ItemState.FAILED],
        left=states[ItemState.PENDING] + states[ItemState.SENDING],
        keys_posted_once=keys_once,
        posts_in_slack=tags.total(),
        duplicate_tags=sum(count - 1 for count in tags.values()),
        scripted_429s=log.scripted,
        calls=len(log),
        simulated_seconds=(log.times[-1] - FAKE_CLOCK_START) if log.times else 0.0,
        real_seconds=real,
        error=error,
        **figures,
    )


def _check_calls(
    calls: list[tuple[float, Call, float | None]], names: dict[str, str]
) -> dict[str, Any]:
    """Judge the recorded calls against Slack's limits and its 429s."""

    def channel_of(call: Call) -> str:
        channel = str(call.args.get("channel") or call.args.get("channel_id") or "")
        return names.get(channel, channel)

    # Successful calls; what reached Slack is counted from its channels.
    posted = [call for _, call, _ in calls if call.method == POST_METHOD and call.ok]
    updated = [call for _, call, _ in calls if call.method == "chat.update" and call.ok]

    # One message a second per channel, refused attempts included; a file
    # shared in a channel is a message too.
    by_channel: dict[str, list[float]] = collections.defaultdict(list)
    for at, call, _ in calls:
        if call.method in (POST_METHOD, "files.completeUploadExternal"):
            by_channel[channel_of(call)].append(at)
    gaps = [b - a for times in by_channel.values() for a, b in itertools.pairwise(times)]
    most_in_a_second = max(
        (_most_within(times, POST_INTERVAL) for times in by_channel.values()), default=0
    )

    # Every other method within its tier, over any 60 s.
    by_method: dict[str, list[float]] = collections.defaultdict(list)
    for at, call, _ in calls:
        if call.method != POST_METHOD and call.method != "upload":
            by_method[call.method].append(at)
    per_minute = {m: _most_within(times, TIER_WINDOW) for m, times in by_method.items()}
    busiest = max(per_minute, key=lambda m: per_minute[m], default="")
    tier_violations = sum(
        1 for m, most in per_minute.items() if most > TIER_CALLS.get(m, UNKNOWN_TIER_CALLS)
    )

    # No call in a 429's scope before its Retry-After has passed: the
    # channel for chat.*, the whole method otherwise.
    early = 0
    for index, (at, call, retry_after) in enumerate(calls):
        if call.status != 429 or retry_after is None:
            continue
        scoped = call.method.startswith("chat.")
        early += sum(
            1
            for later_at, later, _ in calls[index + 1 :]
            if later.method == call.method
            and (not scoped or channel_of(later) == channel_of(call))
            and later_at < at + retry_after - CLOCK_TOLERANCE
        )
    return {
        "post_calls_ok": len(posted),
        "update_calls_ok": len(updated),
        "channels": len(by_channel),
        "most_posts_in_a_second": most_in_a_second,
        "min_post_gap": min(gaps, default=None),
        "post_gap_violations": sum(1 for gap in gaps if gap < POST_INTERVAL - CLOCK_TOLERANCE),
        "busiest_method": busiest,
        "busiest_per_minute": per_minute.get(busiest, 0),
        "tier_violations": tier_violations,
        "answered_429s": sum(1 for _, call, _ in calls if call.status == 429),
        "early_calls": early,
    }


def _most_within(times: list[float], window: float) -> int:
    """The most of these sorted times that fall in any `window` seconds."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= window - CLOCK_TOLERANCE:
            first += 1
        most = max(most, last - first + 1)
    return most


def _ts_of(store: SQLiteOutboxStore, key: str | None) -> str | None:
    record = store.get_outbox_message(key) if key else None
    return None if record is None else record.ts


def _tag_of(message: dict[str, Any]) -> str | None:
    """The outbox item a message in the fake came from, by its metadata."""
    metadata = message.get("metadata") or {}
    return (metadata.get("event_payload") or {}).get("item")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workloads", type=int, default=200)
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="arrivals per second; 0 for all at once"
    )
    parser.add_argument("--sink", choices=["outbox", "memory"], default="memory")
    parser.add_argument("--store", choices=["file", "memory"], default="file")
    parser.add_argument("--update-interval", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument(
        "--deliver",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="deliver the outbox to a fake Slack afterwards; on by default with --sink outbox",
    )
    parser.add_argument(
        "--rate-limited", type=int, default=20, metavar="N", help="429s to script while delivering"
    )
    parser.add_argument(
        "--delivery-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="real time the delivery may take",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.deliver is None:
        args.deliver = args.sink == "outbox"
    if args.deliver and args.sink != "outbox":
        parser.error("--deliver needs --sink outbox: only the outbox has anything to deliver")

    # Setup: policies, explanations, teams, and the workloads with their events.
    setup_started = time.perf_counter()
    loaded = policies.load_policies(bundled_policy_paths())
    knowledge = Knowledge.bundled()
    registry = Registry.from_data(
        {
            "default_team": "team-00",
            "teams": [
                {"name": f"team-{n:02d}", "channel": f"#team-{n:02d}"} for n in range(args.teams)
            ],
        }
    )
    workloads = build_workloads(args, loaded)
    namespaces = {
        f"ns-{n:02d}": {"metadata": {"name": f"ns-{n:02d}", "labels": {"team": f"team-{n:02d}"}}}
        for n in range(args.teams)
    }
    cluster = Cluster(workloads, namespaces)
    setup_seconds = time.perf_counter() - setup_started

    # The timed run, then the same burst again under tracemalloc, unpaced;
    # the timed run's outbox is delivered last, so the memory figures are the
    # burst's alone.
    with tempfile.TemporaryDirectory() as timed_dir:
        timed = asyncio.run(
            run_burst(
                args,
                workloads,
                knowledge,
                registry,
                cluster,
                rate=args.rate,
                directory=Path(timed_dir),
            )
        )
        tracemalloc.start()
        with tempfile.TemporaryDirectory() as traced_dir:
            asyncio.run(
                run_burst(
                    args,
                    workloads,
                    knowledge,
                    registry,
                    cluster,
                    rate=0.0,
                    directory=Path(traced_dir),
                )
            )
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        delivery = (
            asyncio.run(deliver_outbox(args, Path(timed_dir) / "outbox.db"))
            if args.deliver
            else None
        )

    p50 = percentile(timed.latencies_ms, 0.50)
    p99 = percentile(timed.latencies_ms, 0.99)
    figures = {
        "events": args.events,
        "workloads": len(workloads),
        "teams": args.teams,
        "rate_per_second": args.rate,
        "sink": args.sink,
        "store": args.store,
        "group_keys": timed.keys,
        "posts": timed.posts,
        "max_posts_per_key": timed.max_posts_per_key,
        "updates": timed.updates,
        "uploads": timed.uploads,
        "rejections_expected": timed.expected,
        "rejections_counted": timed.counted,
        "none_lost": timed.fully_shown,
        "fixes_deferred": timed.deferred_fixes,
        "fixes_left_at_end": timed.fixes_left,
        "latency_p50_ms": round(p50, 2),
        "latency_p99_ms": round(p99, 2),
        "latency_max_ms": round(max(timed.latencies_ms, default=0.0), 2),
        "latency_mean_ms": round(statistics.fmean(timed.latencies_ms or [0.0]), 2),
        "wall_seconds": round(timed.wall_seconds, 2),
        "capacity_events_per_second": round(args.events / timed.service_seconds),
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 1),
        "ru_maxrss_mb": round(max_rss_mb, 1),
        "setup_seconds": round(setup_seconds, 2),
        "delivered": delivery is not None,
    }
    if delivery is not None:
        figures |= _delivery_figures(delivery)
    ok = (
        timed.max_posts_per_key == 1
        and timed.posts == timed.keys
        and timed.fully_shown
        and timed.fixes_left == 0
        and p99 < TARGET_P99_MS
        and max_rss_mb < TARGET_MEMORY_MB
        and (delivery is None or delivery.ok)
    )
    if args.json:
        print(json.dumps({**figures, "ok": ok}, indent=2))
    else:
        _print_table(figures, ok)
    return 0 if ok else 1


def _delivery_figures(delivery: Delivery) -> dict[str, Any]:
    gap = delivery.min_post_gap
    return {
        "delivery_items": delivery.items,
        "delivery_posts_queued": delivery.posts_queued,
        "delivery_updates_queued": delivery.updates_queued,
        "delivery_others_queued": delivery.others_queued,
        "delivery_delivered": delivery.delivered,
        "delivery_failed": delivery.failed,
        "delivery_left": delivery.left,
        "delivery_post_calls_ok": delivery.post_calls_ok,
        "delivery_posts_in_slack": delivery.posts_in_slack,
        "delivery_update_calls_ok": delivery.update_calls_ok,
        "delivery_duplicate_tags": delivery.duplicate_tags,
        "delivery_keys_posted_once": delivery.keys_posted_once,
        "delivery_exactly_once": (
            delivery.delivered == delivery.items
            and delivery.post_calls_ok == delivery.posts_in_slack == delivery.posts_queued
            and delivery.update_calls_ok == delivery.updates_queued
            and delivery.duplicate_tags == 0
            and delivery.keys_posted_once
        ),
        "delivery_channels": delivery.channels,
        "delivery_most_posts_per_channel_second": delivery.most_posts_in_a_second,
        "delivery_min_post_gap_seconds": None if gap is None else round(gap, 3),
        "delivery_post_gap_violations": delivery.post_gap_violations,
        "delivery_busiest_method": delivery.busiest_method,
        "delivery_busiest_per_minute": delivery.busiest_per_minute,
        "delivery_busiest_tier_limit": TIER_CALLS.get(delivery.busiest_method, UNKNOWN_TIER_CALLS),
        "delivery_tier_violations": delivery.tier_violations,
        "delivery_429s_scripted": delivery.scripted_429s,
        "delivery_429s_answered": delivery.answered_429s,
        "delivery_calls_before_retry_after": delivery.early_calls,
        "delivery_calls": delivery.calls,
        "delivery_simulated_seconds": round(delivery.simulated_seconds, 1),
        "delivery_real_seconds": round(delivery.real_seconds, 2),
        "delivery_error": delivery.error,
        "delivery_ok": delivery.ok,
    }


def _print_table(figures: dict[str, Any], ok: bool) -> None:
    print(
        f"{figures['events']:,} events over {figures['workloads']} workloads and "
        f"{figures['teams']} teams, arriving at {figures['rate_per_second']:g}/s, "
        f"sink {figures['sink']}, groups in {figures['store']}"
    )
    rows = [
        ("messages posted", f"{figures['posts']} for {figures['group_keys']} (workload, rule)"),
        ("most posts for one key", f"{figures['max_posts_per_key']} (must be 1)"),
        ("updates / files", f"{figures['updates']} / {figures['uploads']}"),
        (
            "fixes sent later",
            f"{figures['fixes_deferred']} posted first without their fix, "
            f"{figures['fixes_left_at_end']} still missing at the end",
        ),
        (
            "rejections counted",
            f"{figures['rejections_counted']:,} of {figures['rejections_expected']:,}; "
            f"none lost: {figures['none_lost']}",
        ),
        (
            "event to outbox",
            f"p50 {figures['latency_p50_ms']} ms, p99 {figures['latency_p99_ms']} ms, "
            f"max {figures['latency_max_ms']} ms (target p99 < {TARGET_P99_MS} ms)",
        ),
        ("capacity", f"{figures['capacity_events_per_second']:,} events/s on one core"),
        (
            "peak memory",
            f"tracemalloc {figures['tracemalloc_peak_mb']} MB, ru_maxrss "
            f"{figures['ru_maxrss_mb']} MB (target < {TARGET_MEMORY_MB} MB)",
        ),
        ("wall time", f"{figures['wall_seconds']} s (setup {figures['setup_seconds']} s)"),
    ]
    if figures["delivered"]:
        rows += _delivery_rows(figures)
    for name, value in rows:
        print(f"  {name:<24} {value}")
    print("  result                   " + ("ok" if ok else "TARGET MISSED"))


def _delivery_rows(figures: dict[str, Any]) -> list[tuple[str, str]]:
    gap = figures["delivery_min_post_gap_seconds"]
    rows = [
        (
            "delivered to fake Slack",
            f"{figures['delivery_delivered']} of {figures['delivery_items']} items "
            f"({figures['delivery_posts_queued']} posts, {figures['delivery_updates_queued']} "
            f"updates, {figures['delivery_others_queued']} other), "
            f"{figures['delivery_failed']} failed, {figures['delivery_left']} left",
        ),
        (
            "exactly once",
            f"{figures['delivery_post_calls_ok']} posts and {figures['delivery_update_calls_ok']} "
            f"updates ok, {figures['delivery_posts_in_slack']} posts in Slack, "
            f"{figures['delivery_duplicate_tags']} twice; each key once: "
            f"{figures['delivery_keys_posted_once']}",
        ),
        (
            "posts per channel",
            f"at most {figures['delivery_most_posts_per_channel_second']} a second in "
            f"{figures['delivery_channels']} channels, min gap "
            f"{'-' if gap is None else f'{gap:.3f} s'} (limit 1/s per channel)",
        ),
        (
            "method tiers",
            f"{figures['delivery_busiest_method'] or '-'} at most "
            f"{figures['delivery_busiest_per_minute']} in any 60 s "
            f"(limit {figures['delivery_busiest_tier_limit']}/min), "
            f"{figures['delivery_tier_violations']} methods over",
        ),
        (
            "429 Retry-After",
            f"{figures['delivery_429s_answered']} of {figures['delivery_429s_scripted']} "
            f"scripted answered, {figures['delivery_calls_before_retry_after']} calls "
            f"before Retry-After ended",
        ),
        (
            "simulated delivery",
            f"{figures['delivery_simulated_seconds']:,} s on the fake clock, "
            f"{figures['delivery_calls']:,} calls, {figures['delivery_real_seconds']} s real",
        ),
    ]
    if figures["delivery_error"]:
        rows.append(("delivery error", figures["delivery_error"]))
    return rows


if __name__ == "__main__":
    sys.exit(main())
