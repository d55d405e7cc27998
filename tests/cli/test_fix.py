"""`policybot fix` with platform defaults: bundled, given, or turned off."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli.main import main
from bot.knowledge import catalog

POD = """\
# the web pod of the shop
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
  - name: app
    image: nginx:1.27  # pinned by the team
"""

CPU_LIMITS = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: cpu-limits
spec:
  validationFailureAction: Enforce
  rules:
  - name: need-cpu-limit
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: Containers must set a CPU limit.
      pattern:
        spec:
          containers:
          - resources:
              limits:
                cpu: "?*"
"""

CUSTOM_LIMIT_RANGE = """\
apiVersion: v1
kind: LimitRange
metadata:
  name: shop-defaults
  namespace: shop
spec:
  limits:
  - type: Container
    default:
      cpu: 1500m
"""


def _bundled_cpu_limit() -> str:
    """The CPU limit the shipped LimitRange gives, read from the file itself."""
    [path] = [p for p in catalog.bundled_platform_paths() if p.name == "limit-range.yaml"]
    limit_range = yaml.safe_load(path.read_text())
    [entry] = [item for item in limit_range["spec"]["limits"] if item["type"] == "Container"]
    return str(entry["default"]["cpu"])


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    pod = tmp_path / "pod.yaml"
    pod.write_text(POD)
    policy = tmp_path / "policy.yaml"
    policy.write_text(CPU_LIMITS)
    return {"pod": pod, "policy": policy}


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["fix", *args, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def _cpu_limit(entry: dict[str, Any]) -> Any:
    return entry["fixed"]["spec"]["containers"][0]["resources"]["limits"]["cpu"]


def test_bundled_limit_range_gives_an_exact_fix(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """By default the shipped LimitRange supplies the CPU limit, and the fix is exact."""
    code, report = _run_json(capsys, str(files["pod"]), "--policies", str(files["policy"]))

    [entry] = report["fixes"]
    assert code == 1
    assert entry["status"] == "exact"
    assert _cpu_limit(entry) == _bundled_cpu_limit()
    assert any("LimitRange platform-container-defaults" in line for line in entry["summary"])
    assert f"+          cpu: {_bundled_cpu_limit()}" in entry["diff"].splitlines()


def test_text_report_names_the_limit_range(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The readable report says where the value came from and shows it in the diff."""
    code = main(["fix", str(files["pod"]), "--policies", str(files["policy"])])

    out = capsys.readouterr().out
    assert code == 1
    assert "EXACT  cpu-limits/need-cpu-limit" in out
    assert "LimitRange platform-container-defaults" in out
    assert f"+        cpu: {_bundled_cpu_limit()}" in out


def test_without_platform_defaults_the_fix_is_guided(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--no-platform-defaults` leaves the limit to the team: a placeholder."""
    code, report = _run_json(
        capsys,
        str(files["pod"]),
        "--policies",
        str(files["policy"]),
        "--no-platform-defaults",
    )

    [entry] = report["fixes"]
    assert code == 1
    assert entry["status"] == "guided"
    assert _cpu_limit(entry) == "<set a value>"
    assert "/spec/containers/0/resources/limits/cpu" in entry["note"]


def test_given_platform_defaults_replace_the_bundled_ones(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--platform-defaults` reads another LimitRange instead of the shipped one."""
    custom = tmp_path / "custom.yaml"
    custom.write_text(CUSTOM_LIMIT_RANGE)

    code, report = _run_json(
        capsys,
        str(files["pod"]),
        "--policies",
        str(files["policy"]),
        "--platform-defaults",
        str(custom),
    )

    [entry] = report["fixes"]
    assert code == 1
    assert entry["status"] == "exact"
    assert _cpu_limit(entry) == "1500m"
    assert any("LimitRange shop/shop-defaults" in line for line in entry["summary"])
    assert not any("platform-container-defaults" in line for line in entry["summary"])


def test_given_defaults_without_the_value_leave_the_fix_guided(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given files replace the bundled ones entirely, so nothing falls back to them."""
    class_only = tmp_path / "class.yaml"
    class_only.write_text(
        "apiVersion: storage.k8s.io/v1\n"
        "kind: StorageClass\n"
        "metadata:\n"
        "  name: gold\n"
        "  annotations: {storageclass.kubernetes.io/is-default-class: 'true'}\n"
    )

    code, report = _run_json(
        capsys,
        str(files["pod"]),
        "--policies",
        str(files["policy"]),
        "--platform-defaults",
        str(class_only),
    )

    [entry] = report["fixes"]
    assert code == 1
    assert entry["status"] == "guided"


def test_both_platform_flags_are_a_usage_error(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Giving defaults and turning them off at once is refused by the parser."""
    custom = tmp_path / "custom.yaml"
    custom.write_text(CUSTOM_LIMIT_RANGE)

    with pytest.raises(SystemExit) as exited:
        main(
            [
                "fix",
                str(files["pod"]),
                "--policies",
                str(files["policy"]),
                "--platform-defaults",
                str(custom),
                "--no-platform-defaults",
            ]
        )

    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(None, "no such file or directory", id="missing"),
        pytest.param("- a\n- b\n", "must be a Kubernetes object", id="not-an-object"),
        pytest.param("kind: LimitRange\nspec: [\n", "invalid YAML", id="malformed"),
    ],
)
def test_unusable_platform_defaults_exit_two(
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str | None,
    message: str,
) -> None:
    """A missing or broken defaults file is one clear line and exit code 2."""
    path = tmp_path / "defaults.yaml"
    if text is not None:
        path.write_text(text)

    code = main(
        [
            "fix",
            str(files["pod"]),
            "--policies",
            str(files["policy"]),
            "--platform-defaults",
            str(path),
        ]
    )

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert message in captured.err
    assert str(path) in captured.err
    assert captured.err.count("\n") == 1
    assert "Traceback" not in captured.err


def test_write_puts_the_default_into_the_file(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`--write` writes the platform's value, keeping comments, and leaves nothing failing."""
    code = main(["fix", str(files["pod"]), "--policies", str(files["policy"]), "--write"])

    written = files["pod"].read_text()
    capsys.readouterr()
    assert code == 0
    assert "# the web pod of the shop" in written
    assert "# pinned by the team" in written
    assert yaml.safe_load(written)["spec"]["containers"][0]["resources"] == {
        "limits": {"cpu": _bundled_cpu_limit()}
    }
    assert main(["check", str(files["pod"]), "--policies", str(files["policy"])]) == 0


def test_write_without_defaults_leaves_the_file_alone(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A guided fix is never written, so the file stays as it was and exit is 1."""
    code = main(
        [
            "fix",
            str(files["pod"]),
            "--policies",
            str(files["policy"]),
            "--write",
            "--no-platform-defaults",
        ]
    )

    capsys.readouterr()
    assert code == 1
    assert files["pod"].read_text() == POD
