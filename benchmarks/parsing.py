"""Throughput of rejection parsing: payloads parsed and classified per second.

Builds a stream of payloads (10,000 by default) by cycling through the
rejection corpus (each sample's text, or its decoded object where the corpus
gives one), or through a few built-in messages when the corpus is absent,
then times `bot.intake.parse` over the whole stream in this one process, so
on one core. The target is 5,000 payloads per second.

    python benchmarks/parsing.py [CORPUS_DIR] [--count N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bot.intake import parse

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared/corpus/rejections"
TARGET_PER_SECOND = 5000

# Used when the corpus is not beside the repository: one message per engine.
BUILT_IN = [
    'Error from server (Forbidden): error when creating "pod.yaml": pods "web" is forbidden: '
    'violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container '
    '"app" must set securityContext.allowPrivilegeEscalation=false), seccompProfile (pod or '
    'container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
    '"Localhost")',
    'Error from server: error when creating "d.yaml": admission webhook '
    '"validate.kyverno.svc-fail" denied the request: \n\nresource Deployment/default/web was '
    "blocked due to the following policies \n\nrequire-labels:\n  autogen-check-for-labels: "
    "'validation error: label app is required. rule autogen-check-for-labels failed at path "
    "/spec/template/metadata/labels/app/'",
    'Error from server (Forbidden): admission webhook "validation.gatekeeper.sh" denied the '
    'request: [must-have-owner] you must provide labels: {"owner"}',
    "The deployments \"web\" is invalid: : ValidatingAdmissionPolicy 'replicas.example.com' "
    "with binding 'replicas-binding' denied request: replicas must be no greater than 5",
    "  Warning  FailedCreate  2m (x9 over 4m)  replicaset-controller  Error creating: admission "
    'webhook "images.example.com" denied the request: image registry not allowed',
]


def corpus_payloads(corpus: Path) -> list[str | dict[str, Any]]:
    payloads: list[str | dict[str, Any]] = []
    for path in sorted(corpus.glob("*/*.yaml")):
        for sample in yaml.safe_load(path.read_text(encoding="utf-8"))["samples"]:
            if isinstance(sample.get("object"), dict):
                payloads.append(sample["object"])
            elif isinstance(sample.get("text"), str):
                payloads.append(sample["text"])
    return payloads


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--count", type=int, default=10_000, help="payloads in the stream")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median is kept")
    args = parser.parse_args()

    if args.corpus.is_dir():
        source, samples = f"corpus {args.corpus}", corpus_payloads(args.corpus)
    else:
        source, samples = "built-in messages (corpus not found)", list(BUILT_IN)
    stream = [samples[index % len(samples)] for index in range(args.count)]

    # One warm-up pass compiles the regular expressions and fills caches.
    for payload in samples:
        parse(payload)
    timings = []
    records = 0
    engines: Counter[str] = Counter()
    for _ in range(args.repeat):
        started = time.perf_counter()
        found = [parse(payload) for payload in stream]
        timings.append(time.perf_counter() - started)
        records = sum(len(batch) for batch in found)
        engines = Counter(str(record.engine) for batch in found for record in batch)

    elapsed = statistics.median(timings)
    rate = len(stream) / elapsed
    print(f"source: {source} ({len(samples)} distinct payloads)")
    print(f"stream: {len(stream)} payloads -> {records} records")
    print("engines: " + ", ".join(f"{name} {count}" for name, count in engines.most_common()))
    print(f"median of {args.repeat} runs: {elapsed:.3f} s = {rate:,.0f} payloads/s on one core")
    print(f"target {TARGET_PER_SECOND:,}/s: {'met' if rate >= TARGET_PER_SECOND else 'MISSED'}")
    return 0 if rate >= TARGET_PER_SECOND else 1


if __name__ == "__main__":
    sys.exit(main())
