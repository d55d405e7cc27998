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

    python benchmarks/notify_burst.py [--events N] [--workloads N] [--teams N]
        [--rate R] [--sink outbox|memory] [--store file|memory] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import copy
import datetime
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
from bot.slack import outbox
from bot.slack.outbox import Outbox
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from bot.store.sqlite_outbox import SQLiteOutboxStore
from handlers.rejections import RejectionHandler

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
STREAM_GAP = datetime.timedelta(milliseconds=30)
IDLE_FLUSH_EVERY = 0.05
IDLE_FLUSH_BUDGET = 0.02
TARGET_P99_MS = 250
TARGET_MEMORY_MB = 200

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
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

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

    # The timed run, then the same burst again under tracemalloc, unpaced.
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
    }
    ok = (
        timed.max_posts_per_key == 1
        and timed.posts == timed.keys
        and timed.fully_shown
        and timed.fixes_left == 0
        and p99 < TARGET_P99_MS
        and max_rss_mb < TARGET_MEMORY_MB
    )
    if args.json:
        print(json.dumps({**figures, "ok": ok}, indent=2))
    else:
        _print_table(figures, ok)
    return 0 if ok else 1


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
    for name, value in rows:
        print(f"  {name:<24} {value}")
    print("  result                   " + ("ok" if ok else "TARGET MISSED"))


if __name__ == "__main__":
    sys.exit(main())
