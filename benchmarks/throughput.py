"""How fast Policybot checks manifests, next to Checkov on the very same files.

Policybot runs in CI on every push and behind a chat command, so two figures
matter: how many (rule, resource) pairs the engine gets through per second on
a large repository, and how long one `policybot check FILE` takes from a cold
interpreter. Checkov is the tool teams would otherwise reach for, so it is run
on the same generated manifests for scale.

The engine figures are measured in-process (policies and manifests loaded
once, `check` timed alone); the CLI figures are wall times of subprocesses and
so include interpreter start and YAML parsing. Checkov lives in its own venv
(benchmarks/setup-checkov.sh) and is skipped, with a hint, when absent.

    .venv/bin/python benchmarks/throughput.py [--objects 2000] [--files 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

# The generator beside this script: `python benchmarks/throughput.py` puts
# benchmarks/ first on sys.path.
import manifests as generator

from bot.cli import checking
from bot.policy import manifests, policies

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHECKOV = HERE / ".venv-checkov" / "bin" / "checkov"
LATENCY_EXAMPLE = ROOT / "examples" / "manifests" / "compliant-deployment.yaml"
LATENCY_TARGET_S = 0.5
RATIO_TARGET = 10.0
SUBPROCESS_TIMEOUT_S = 600

# Checkov must stay offline: no mapping or policy download, no upload, no
# "new version available" lookup, no SCA scan, and no API key from the caller's
# environment. Flags the installed version lacks are dropped (see _checkov_flags).
CHECKOV_ENV = {
    "BC_SKIP_MAPPING": "TRUE",
    "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE",
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "LOG_LEVEL": "WARNING",
}
CHECKOV_SECRET_VARS = ("BC_API_KEY", "CKV_API_KEY", "PRISMA_API_URL", "BC_API_URL")
CHECKOV_OPTIONAL_FLAGS = ("--quiet", "--compact", "--skip-download", "--skip-results-upload")


@dataclass(frozen=True)
class EngineFigures:
    """`checking.check` timed in-process on objects already parsed."""

    policies: int
    rules: int
    """Rules after autogen, the ones the engine walks for every resource."""
    resources: int
    evaluations: int
    """rules x resources: every (rule, resource) pair the engine considered."""
    results: int
    """Pairs the rule selected and judged: the results `check` returned."""
    policy_load_s: float
    manifest_load_s: float
    """Reading and parsing the YAML files in-process, for comparison."""
    first_run_s: float
    median_s: float
    best_s: float
    resources_per_s: float
    evaluations_per_s: float
    results_per_s: float


@dataclass(frozen=True)
class CliFigures:
    """`policybot check DIR --output json` as a subprocess, wall time."""

    runs: int
    median_s: float
    resources_per_s: float
    evaluations_per_s: float


@dataclass(frozen=True)
class LatencyFigures:
    """`policybot check FILE` as a subprocess, interpreter start included."""

    file: str
    runs: int
    median_s: float
    p90_s: float
    target_s: float
    met: bool


@dataclass(frozen=True)
class CheckovFigures:
    """Checkov's own count of checks, per second of its wall time."""

    version: str
    command: str
    runs: int
    checks: int
    """passed + failed + skipped, from Checkov's JSON summary."""
    passed: int
    failed: int
    skipped: int
    resources: int
    """Checkov's resource count: it also counts each container as a resource."""
    wall_s: float
    empty_wall_s: float
    """The same command on an empty directory: start-up and teardown only."""
    adjusted_s: float
    checks_per_s: float
    adjusted_checks_per_s: float
    adjusted_objects_per_s: float
    """Manifest objects (ours, not Checkov's resources) per adjusted second."""


@dataclass(frozen=True)
class Report:
    objects: int
    files: int
    seed: int
    kinds: Mapping[str, int]
    with_violations: int
    engine: EngineFigures
    cli: CliFigures
    latency: LatencyFigures
    checkov: CheckovFigures | None
    checkov_skipped_because: str
    ratios: Mapping[str, float]
    """Our rule evaluations/s over Checkov's checks/s, by pairing."""
    ratio_target: float


def measure_engine(directory: Path, *, repeats: int) -> EngineFigures:
    started = time.perf_counter()
    loaded = policies.load_policies([checking.bundled_policy_dir()])
    policy_load_s = time.perf_counter() - started

    started = time.perf_counter()
    objects = [manifest.content for manifest in manifests.load_manifests([directory])]
    manifest_load_s = time.perf_counter() - started

    # The first run warms caches (compiled wildcards, parsed kinds); report it
    # on its own and take the median of all runs as the figure.
    times: list[float] = []
    results = 0
    for _ in range(repeats):
        started = time.perf_counter()
        results = len(checking.check(loaded, objects))
        times.append(time.perf_counter() - started)

    rules = sum(len(policy.rules) for policy in loaded)
    evaluations = rules * len(objects)
    median = statistics.median(times)
    return EngineFigures(
        policies=len(loaded),
        rules=rules,
        resources=len(objects),
        evaluations=evaluations,
        results=results,
        policy_load_s=policy_load_s,
        manifest_load_s=manifest_load_s,
        first_run_s=times[0],
        median_s=median,
        best_s=min(times),
        resources_per_s=len(objects) / median,
        evaluations_per_s=evaluations / median,
        results_per_s=results / median,
    )


def policybot_command() -> list[str]:
    """The console script of the interpreter running us, as users invoke it."""
    script = Path(sys.executable).parent / "policybot"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "bot.cli.main"]


def time_command(
    argv: Sequence[str],
    *,
    runs: int,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> tuple[list[float], str]:
    """Wall times of `runs` runs, and the output of the last one.

    Exit code 1 is accepted: both tools use it to say "violations found".
    NB: a Python crash exits with 1 too, so a run that printed a traceback or
    nothing at all is refused as well; timing a crash would flatter us.
    """
    times: list[float] = []
    stdout = ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=None if env is None else dict(env),
            cwd=cwd,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
        times.append(time.perf_counter() - started)
        crashed = "Traceback (most recent call last)" in done.stderr or not done.stdout.strip()
        if done.returncode not in (0, 1) or crashed:
            raise RuntimeError(
                f"{' '.join(argv)} exited with {done.returncode}:\n{done.stderr[-2000:]}"
            )
        stdout = done.stdout
    return times, stdout


def measure_cli(directory: Path, *, runs: int, engine: EngineFigures) -> CliFigures:
    argv = [*policybot_command(), "check", str(directory), "--output", "json"]
    times, stdout = time_command(argv, runs=runs)

    # Make sure the subprocess checked what the in-process run checked.
    checked = json.loads(stdout)["resources"]
    if checked != engine.resources:
        raise RuntimeError(f"the CLI checked {checked} resources, expected {engine.resources}")
    median = statistics.median(times)
    return CliFigures(
        runs=runs,
        median_s=median,
        resources_per_s=engine.resources / median,
        evaluations_per_s=engine.evaluations / median,
    )


def measure_latency(path: Path, *, runs: int) -> LatencyFigures:
    times, _ = time_command([*policybot_command(), "check", str(path)], runs=runs)
    median = statistics.median(times)
    p90 = percentile(times, 90)
    return LatencyFigures(
        file=_shown(path),
        runs=runs,
        median_s=median,
        p90_s=p90,
        target_s=LATENCY_TARGET_S,
        met=median < LATENCY_TARGET_S,
    )


def percentile(samples: Sequence[float], rank: float) -> float:
    """Nearest-rank percentile: the smallest sample at or above `rank`% of them."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def measure_checkov(
    directory: Path, empty: Path, *, objects: int, runs: int, empty_runs: int
) -> CheckovFigures:
    env = {k: v for k, v in os.environ.items() if k not in CHECKOV_SECRET_VARS}
    env.update(CHECKOV_ENV)
    version = subprocess.run(
        [str(CHECKOV), "--version"], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    flags = _checkov_flags(env)

    def command(target: Path) -> list[str]:
        return [str(CHECKOV), "-d", str(target), "--framework", "kubernetes", "-o", "json", *flags]

    # Run in the empty directory so no stray .checkov.yaml config is picked up.
    times, stdout = time_command(command(directory), runs=runs, env=env, cwd=empty)
    empty_times, _ = time_command(command(empty), runs=empty_runs, env=env, cwd=empty)
    summary = checkov_summary(stdout)

    wall = statistics.median(times)
    empty_wall = statistics.median(empty_times)
    adjusted = max(wall - empty_wall, 1e-9)
    checks = summary["passed"] + summary["failed"] + summary["skipped"]
    shown = " ".join(_shown(Path(part)) if "/" in part else part for part in command(directory))
    return CheckovFigures(
        version=version,
        command=shown,
        runs=runs,
        checks=checks,
        passed=summary["passed"],
        failed=summary["failed"],
        skipped=summary["skipped"],
        resources=summary["resource_count"],
        wall_s=wall,
        empty_wall_s=empty_wall,
        adjusted_s=adjusted,
        checks_per_s=checks / wall,
        adjusted_checks_per_s=checks / adjusted,
        adjusted_objects_per_s=objects / adjusted,
    )


def _checkov_flags(env: Mapping[str, str]) -> list[str]:
    """The optional flags this Checkov version knows, from its --help."""
    helped = subprocess.run(
        [str(CHECKOV), "--help"], capture_output=True, text=True, env=dict(env), check=False
    ).stdout
    return [flag for flag in CHECKOV_OPTIONAL_FLAGS if flag in helped]


def checkov_summary(output: str) -> dict[str, int]:
    """Add up the summaries of Checkov's JSON report, whatever its shape.

    One framework gives one report object, several give a list of them, and a
    directory with nothing to scan gives a bare summary.
    """
    start = min((i for i in (output.find("{"), output.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise RuntimeError(f"Checkov printed no JSON report: {output[:500]!r}")
    parsed = json.loads(output[start:])
    reports = parsed if isinstance(parsed, list) else [parsed]
    total = {"passed": 0, "failed": 0, "skipped": 0, "resource_count": 0}
    for report in reports:
        summary = report.get("summary", report)
        for key in total:
            total[key] += int(summary.get(key, 0))
    return total


def ratios_of(engine: EngineFigures, cli: CliFigures, checkov: CheckovFigures) -> dict[str, float]:
    """Our throughput over Checkov's, paired four ways.

    The headline pairs the engine's rule evaluations/s with Checkov's checks/s
    less its start-up; the CLI pairing compares two whole processes, parsing
    and start-up included on both sides; the last compares manifest objects/s,
    which does not depend on how either tool slices its work into checks.
    """
    return {
        "engine_vs_checkov_adjusted": engine.evaluations_per_s / checkov.adjusted_checks_per_s,
        "engine_vs_checkov_raw": engine.evaluations_per_s / checkov.checks_per_s,
        "cli_vs_checkov_raw": cli.evaluations_per_s / checkov.checks_per_s,
        "engine_vs_checkov_objects": engine.resources_per_s / checkov.adjusted_objects_per_s,
    }


def render_table(report: Report) -> str:
    engine, cli, latency, checkov = report.engine, report.cli, report.latency, report.checkov
    kinds = ", ".join(f"{count} {kind}" for kind, count in sorted(report.kinds.items()))
    header = [
        f"{engine.resources:,} objects in {report.files} files (seed {report.seed}), "
        f"{report.with_violations} of them with deliberate mistakes",
        f"kinds: {kinds}",
        "a rule evaluation is one (rule, resource) pair the engine considered: rules x resources",
        "",
    ]
    rows: list[tuple[str, str, str]] = [
        ("policies", f"{engine.policies} bundled", f"{engine.rules} rules after autogen"),
        (
            "load policies / manifests",
            f"{engine.policy_load_s:.3f} s / {engine.manifest_load_s:.2f} s",
            "in-process, YAML parsing",
        ),
        (
            "engine check()",
            f"{engine.median_s:.2f} s",
            f"median; first {engine.first_run_s:.2f} s, best {engine.best_s:.2f} s",
        ),
        ("  resources/s", f"{engine.resources_per_s:,.0f}", ""),
        (
            "  rule evaluations/s",
            f"{engine.evaluations_per_s:,.0f}",
            f"{engine.evaluations:,} = {engine.rules} rules x {engine.resources:,} resources",
        ),
        (
            "  rule results/s",
            f"{engine.results_per_s:,.0f}",
            f"{engine.results:,} results (rule selected the resource)",
        ),
        ("CLI check DIR --output json", f"{cli.median_s:.2f} s", f"wall, median of {cli.runs}"),
        ("  resources/s", f"{cli.resources_per_s:,.0f}", "start-up and YAML parsing included"),
        ("  rule evaluations/s", f"{cli.evaluations_per_s:,.0f}", ""),
        (
            "one-file latency",
            f"{latency.median_s:.3f} s",
            f"median of {latency.runs}; p90 {latency.p90_s:.3f} s; "
            f"target < {latency.target_s} s: {'met' if latency.met else 'MISSED'}",
        ),
        ("  file", latency.file, ""),
    ]
    if checkov is None:
        rows.append(("Checkov", "skipped", report.checkov_skipped_because))
    else:
        rows += [
            ("Checkov", checkov.version, f"wall, median of {checkov.runs}"),
            (
                "  checks run",
                f"{checkov.checks:,}",
                f"{checkov.passed:,} passed + {checkov.failed:,} failed + "
                f"{checkov.skipped:,} skipped; {checkov.resources:,} Checkov resources",
            ),
            ("  wall / empty dir", f"{checkov.wall_s:.2f} s", f"{checkov.empty_wall_s:.2f} s"),
            ("  checks/s raw", f"{checkov.checks_per_s:,.0f}", ""),
            (
                "  checks/s adjusted",
                f"{checkov.adjusted_checks_per_s:,.0f}",
                f"over {checkov.adjusted_s:.2f} s (wall minus empty-dir run)",
            ),
            ("  objects/s adjusted", f"{checkov.adjusted_objects_per_s:,.0f}", "manifest objects"),
        ]
        labels = {
            "engine_vs_checkov_adjusted": "ratio engine / Checkov adj.",
            "engine_vs_checkov_raw": "ratio engine / Checkov raw",
            "cli_vs_checkov_raw": "ratio CLI / Checkov raw",
            "engine_vs_checkov_objects": "ratio objects/s, adjusted",
        }
        for key, label in labels.items():
            ratio = report.ratios[key]
            verdict = "met" if ratio >= report.ratio_target else "MISSED"
            note = f"target >= {report.ratio_target:.0f}x: {verdict}"
            if key == "engine_vs_checkov_objects":
                note = "for scale: independent of how each tool counts its checks"
            rows.append((label, f"{ratio:.1f}x", note))

    width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows if row[0] != "  file")
    lines = header + [
        f"{name:<{width}}  {value:>{value_width}}  {note}".rstrip() for name, value, note in rows
    ]
    if checkov is not None:
        lines.append(f"\nCheckov command: {checkov.command}")
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """A path relative to the repository when it is inside it, for the report."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--objects", type=int, default=generator.DEFAULT_OBJECTS)
    parser.add_argument("--files", type=int, default=generator.DEFAULT_FILES)
    parser.add_argument("--seed", type=int, default=generator.DEFAULT_SEED)
    parser.add_argument("--repeats", type=int, default=5, help="in-process check() runs")
    parser.add_argument("--cli-runs", type=int, default=3, help="`policybot check DIR` runs")
    parser.add_argument("--latency-runs", type=int, default=20)
    parser.add_argument("--latency-file", type=Path, help=f"default: {_shown(LATENCY_EXAMPLE)}")
    parser.add_argument("--checkov-runs", type=int, default=1, help="Checkov runs on DIR")
    parser.add_argument("--checkov-empty-runs", type=int, default=3)
    parser.add_argument("--skip-checkov", action="store_true")
    parser.add_argument(
        "--out",
        type=Path,
        help="keep the generated manifests under this directory (e.g. benchmarks/out); "
        "default: a temporary directory, removed afterwards",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="policybot-bench-") as scratch:
        work = args.out.resolve() if args.out else Path(scratch)
        report = run(args, work=work)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(render_table(report))
    return 0


def run(args: argparse.Namespace, *, work: Path) -> Report:
    # A subdirectory named after the parameters, rewritten on every run, so
    # files of an earlier, larger run never leak into this one.
    target = work / f"manifests-n{args.objects}-f{args.files}-s{args.seed}"
    if target.exists():
        shutil.rmtree(target)
    written = generator.write_manifest_set(
        target, objects=args.objects, files=args.files, seed=args.seed
    )
    _say(f"wrote {written.objects} objects in {len(written.files)} files to {target}")

    _say(f"engine: {args.repeats} in-process runs")
    engine = measure_engine(target, repeats=args.repeats)
    _say(f"CLI: {args.cli_runs} runs of policybot check on the directory")
    cli = measure_cli(target, runs=args.cli_runs, engine=engine)

    latency_file = args.latency_file
    if latency_file is None:
        latency_file = LATENCY_EXAMPLE
        if not latency_file.exists():
            latency_file = generator.write_single_deployment(work / "single" / "deployment.yaml")
    _say(f"latency: {args.latency_runs} runs of policybot check {_shown(latency_file)}")
    latency = measure_latency(latency_file, runs=args.latency_runs)

    # Checkov is optional: the benchmark still reports our own figures without it.
    checkov: CheckovFigures | None = None
    skipped_because = ""
    if args.skip_checkov:
        skipped_because = "--skip-checkov"
    elif not CHECKOV.exists():
        skipped_because = f"{_shown(CHECKOV)} missing; run: bash benchmarks/setup-checkov.sh"
        _say(f"Checkov skipped: {skipped_because}")
    else:
        _say(f"Checkov: {args.checkov_runs} runs, {args.checkov_empty_runs} on an empty dir")
        empty = work / "empty"
        empty.mkdir(parents=True, exist_ok=True)
        checkov = measure_checkov(
            target,
            empty,
            objects=written.objects,
            runs=args.checkov_runs,
            empty_runs=args.checkov_empty_runs,
        )

    return Report(
        objects=written.objects,
        files=len(written.files),
        seed=args.seed,
        kinds=written.kinds,
        with_violations=written.with_violations,
        engine=engine,
        cli=cli,
        latency=latency,
        checkov=checkov,
        checkov_skipped_because=skipped_because,
        ratios=ratios_of(engine, cli, checkov) if checkov else {},
        ratio_target=RATIO_TARGET,
    )


if __name__ == "__main__":
    sys.exit(main())
