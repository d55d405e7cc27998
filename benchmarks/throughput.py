"""How fast Policybot checks manifests, next to Checkov on the very same files.

Policybot runs in CI on every push and behind a chat command, so two figures
matter: how many (rule, resource) pairs the engine gets through per second on
a large repository, and how long one `policybot check FILE` takes from a cold
interpreter. Checkov is the tool teams would otherwise reach for, so it is run
on the same generated manifests for scale.

Pattern rules are only one kind of work: the policy sets in
benchmarks/policies/ time deny rules (JMESPath, context entries,
preconditions), foreach loops, `validate.cel` rules and a Kyverno
ValidatingPolicy on the same objects, each set on its own, and count the
statuses of every rule so that a rule which only errors cannot pass for fast.

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
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

# The generator beside this script: `python benchmarks/throughput.py` puts
# benchmarks/ first on sys.path.
import manifests as generator

from bot.cli import checking
from bot.policy import celpolicies, manifests, policies
from bot.policy.cel import vpol
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CHECKOV = HERE / ".venv-checkov" / "bin" / "checkov"
LATENCY_EXAMPLE = ROOT / "examples" / "manifests" / "compliant-deployment.yaml"
LATENCY_TARGET_S = 0.5
RATIO_TARGET = 10.0
SUBPROCESS_TIMEOUT_S = 600

POLICY_SETS = HERE / "policies"
BASELINE_SET = "pattern (bundled)"
STATUSES = ("pass", "fail", "warn", "skip", "error")
# Kyverno reports a `validate.cel` expression that errors as a failure, so
# the status alone would hide a broken expression; its message gives it away.
CEL_ERROR_MARKS = ("' resulted in error: ", "failed to evaluate celPreconditions")

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
class RuleSetFigures:
    """One policy set timed like `EngineFigures`, with the statuses it gave."""

    name: str
    source: str
    policies: int
    rules: int
    """Rules after autogen; for a ValidatingPolicy, its specs after autogen
    (the one for Pods, the one for controllers, the one for CronJobs)."""
    resources: int
    evaluations: int
    """rules x resources, as for the engine."""
    results: int
    statuses: Mapping[str, int]
    rule_statuses: Mapping[str, Mapping[str, int]]
    """Statuses by rule as written (`policy/rule`; autogen variants added in),
    plus `cel-error` for validate.cel failures that were expression errors."""
    problems: tuple[str, ...]
    """Rules that gave no result at all, or an error: their timing means little."""
    first_run_s: float
    median_s: float
    best_s: float
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
    rule_sets: tuple[RuleSetFigures, ...]
    """The bundled baseline again, then each set in benchmarks/policies/."""
    cli: CliFigures
    latency: LatencyFigures
    checkov: CheckovFigures | None
    checkov_skipped_because: str
    ratios: Mapping[str, float]
    """Our rule evaluations/s over Checkov's checks/s, by pairing."""
    ratio_target: float


def load_objects(directory: Path) -> tuple[list[dict[str, Any]], float]:
    """The parsed manifest objects, and the seconds parsing took."""
    started = time.perf_counter()
    objects = [manifest.content for manifest in manifests.load_manifests([directory])]
    return objects, time.perf_counter() - started


class Timed(NamedTuple):
    times: list[float]
    found: list[RuleResult]
    """What the last run returned."""


def measure_engine(
    objects: Sequence[dict[str, Any]], *, manifest_load_s: float, repeats: int
) -> tuple[EngineFigures, Timed]:
    """The engine figures, and the runs behind them for the baseline set."""
    started = time.perf_counter()
    loaded = policies.load_policies([checking.bundled_policy_dir()])
    policy_load_s = time.perf_counter() - started

    timed = time_runs(lambda: checking.check(loaded, objects), repeats=repeats)
    times, found = timed
    rules = sum(len(policy.rules) for policy in loaded)
    evaluations = rules * len(objects)
    median = statistics.median(times)
    figures = EngineFigures(
        policies=len(loaded),
        rules=rules,
        resources=len(objects),
        evaluations=evaluations,
        results=len(found),
        policy_load_s=policy_load_s,
        manifest_load_s=manifest_load_s,
        first_run_s=times[0],
        median_s=median,
        best_s=min(times),
        resources_per_s=len(objects) / median,
        evaluations_per_s=evaluations / median,
        results_per_s=len(found) / median,
    )
    return figures, timed


def time_runs(check: Callable[[], list[RuleResult]], *, repeats: int) -> Timed:
    """Wall times of `repeats` calls, and what the last call returned.

    The first call warms caches (compiled wildcards and patterns, parsed
    kinds, compiled CEL programs); callers report it on its own and take the
    median of all calls as the figure.
    """
    times: list[float] = []
    found: list[RuleResult] = []
    for _ in range(repeats):
        started = time.perf_counter()
        found = check()
        times.append(time.perf_counter() - started)
    return Timed(times, found)


def measure_rule_sets(
    objects: Sequence[dict[str, Any]], *, engine: EngineFigures, engine_runs: Timed, repeats: int
) -> list[RuleSetFigures]:
    """The baseline from the engine run, then each set of benchmarks/policies/.

    cel.yaml holds both a ClusterPolicy and a ValidatingPolicy; each loader
    takes only its own kind, so the two are timed apart.
    """
    baseline = policies.load_policies([checking.bundled_policy_dir()])
    sets = [
        _rule_set_figures(
            BASELINE_SET,
            checking.bundled_policy_dir(),
            policy_count=engine.policies,
            rules=engine.rules,
            written=_written_rules(baseline),
            objects=objects,
            timed=engine_runs,
        )
    ]
    for name, filename in (("deny", "deny.yaml"), ("foreach", "foreach.yaml")):
        sets.append(_measure_kyverno_set(name, POLICY_SETS / filename, objects, repeats=repeats))
    cel_file = POLICY_SETS / "cel.yaml"
    sets.append(_measure_kyverno_set("CEL ClusterPolicy", cel_file, objects, repeats=repeats))
    sets.append(_measure_validating_policies(cel_file, objects, repeats=repeats))
    return sets


def _measure_kyverno_set(
    name: str, path: Path, objects: Sequence[dict[str, Any]], *, repeats: int
) -> RuleSetFigures:
    loaded = policies.load_policies([path])
    timed = time_runs(lambda: checking.check(loaded, objects), repeats=repeats)
    return _rule_set_figures(
        name,
        path,
        policy_count=len(loaded),
        rules=sum(len(policy.rules) for policy in loaded),
        written=_written_rules(loaded),
        objects=objects,
        timed=timed,
    )


def _measure_validating_policies(
    path: Path, objects: Sequence[dict[str, Any]], *, repeats: int
) -> RuleSetFigures:
    loaded = [p for p in celpolicies.load([path]) if p.kind in celpolicies.VPOL_KINDS]

    # Built per object as `checking.check` builds them, so both pay the same.
    def check() -> list[RuleResult]:
        return [
            result
            for obj in objects
            for result in celpolicies.evaluate_all(
                loaded, AdmissionRequest(object=obj, operation="CREATE")
            )
        ]

    timed = time_runs(check, repeats=repeats)
    specs = sum(1 + len(vpol.autogen_specs(policy.raw.get("spec") or {})) for policy in loaded)
    return _rule_set_figures(
        "ValidatingPolicy",
        path,
        policy_count=len(loaded),
        rules=specs,
        written=[policy.name for policy in loaded],
        objects=objects,
        timed=timed,
    )


def _written_rules(loaded: Sequence[policies.Policy]) -> list[str]:
    return list(dict.fromkeys(f"{p.name}/{r.base_name}" for p in loaded for r in p.rules))


def _rule_set_figures(
    name: str,
    path: Path,
    *,
    policy_count: int,
    rules: int,
    written: Sequence[str],
    objects: Sequence[dict[str, Any]],
    timed: Timed,
) -> RuleSetFigures:
    times, found = timed

    # Count by rule as written, so that a rule which never selected anything
    # shows up with nothing rather than going missing.
    by_rule: dict[str, Counter[str]] = {rule: Counter() for rule in written}
    for result in found:
        key = f"{result.policy}/{result.base_rule}" if result.base_rule else result.policy
        status = result.status
        if status == "fail" and any(mark in result.message for mark in CEL_ERROR_MARKS):
            status = "cel-error"
        by_rule.setdefault(key, Counter())[status] += 1

    problems = []
    for rule, counts in by_rule.items():
        if not counts:
            problems.append(f"{rule}: no result")
        elif counts["error"] or counts["cel-error"]:
            problems.append(f"{rule}: {counts['error'] + counts['cel-error']} errors")

    evaluations = rules * len(objects)
    median = statistics.median(times)
    return RuleSetFigures(
        name=name,
        source=_shown(path),
        policies=policy_count,
        rules=rules,
        resources=len(objects),
        evaluations=evaluations,
        results=len(found),
        statuses={s: sum(c[s] for c in by_rule.values()) for s in (*STATUSES, "cel-error")},
        rule_statuses={rule: dict(counts) for rule, counts in by_rule.items()},
        problems=tuple(problems),
        first_run_s=times[0],
        median_s=median,
        best_s=min(times),
        evaluations_per_s=evaluations / median,
        results_per_s=len(found) / median,
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


def render_rule_sets(sets: Sequence[RuleSetFigures]) -> str:
    """The policy sets side by side, then the statuses of every rule in them."""
    first = sets[0]
    header = [
        f"policy sets, each timed in-process on the same {first.resources:,} objects, "
        "median of the runs",
        "rule evaluations = rules x resources; a ValidatingPolicy counts its specs "
        "after autogen as rules",
    ]
    rows = [
        ("set", "policies", "rules", "evaluations", "median s", "evals/s", "results", "results/s")
    ]
    rows += [
        (
            figures.name,
            str(figures.policies),
            str(figures.rules),
            f"{figures.evaluations:,}",
            f"{figures.median_s:.3f}",
            f"{figures.evaluations_per_s:,.0f}",
            f"{figures.results:,}",
            f"{figures.results_per_s:,.0f}",
        )
        for figures in sets
    ]
    lines = [*header, *_aligned(rows), ""]

    # Every rule as written, autogen variants added in: a rule that errors or
    # never selects anything would make its set look faster than it is.
    statuses = [*STATUSES, "cel-error"]
    rows = [("set / rule as written", *statuses)]
    for figures in sets:
        rows.append((f"{figures.name} ({figures.source})", *("" for _ in statuses)))
        rows.append(("  all rules", *(f"{figures.statuses[s]:,}" for s in statuses)))
        for rule, counts in figures.rule_statuses.items():
            rows.append((f"  {rule}", *(f"{counts.get(s, 0):,}" for s in statuses)))
    lines += _aligned(rows)
    problems = [f"  {f.name}: {problem}" for f in sets for problem in f.problems]
    if problems:
        lines += ["", "PROBLEMS: these rules did not evaluate cleanly:", *problems]
    else:
        lines += ["", "every rule gave results, none of them an error"]
    return "\n".join(lines)


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """The first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


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
        print()
        print(render_rule_sets(report.rule_sets))
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

    objects, manifest_load_s = load_objects(target)
    _say(f"engine: {args.repeats} in-process runs")
    engine, engine_runs = measure_engine(
        objects, manifest_load_s=manifest_load_s, repeats=args.repeats
    )
    _say(f"policy sets: {args.repeats} in-process runs each, from {_shown(POLICY_SETS)}")
    rule_sets = measure_rule_sets(
        objects, engine=engine, engine_runs=engine_runs, repeats=args.repeats
    )
    for figures in rule_sets:
        for problem in figures.problems:
            _say(f"policy set {figures.name}: {problem}")
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
        rule_sets=tuple(rule_sets),
        cli=cli,
        latency=latency,
        checkov=checkov,
        checkov_skipped_because=skipped_because,
        ratios=ratios_of(engine, cli, checkov) if checkov else {},
        ratio_target=RATIO_TARGET,
    )


if __name__ == "__main__":
    sys.exit(main())
