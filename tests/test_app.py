"""The platform defaults `policybot run` loads from files for `/policy check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import app, config
from bot.errors import InputError
from bot.policy.fixes import platform_defaults

TEAMS = {"default_team": "platform", "teams": [{"name": "platform", "channel": "#platform"}]}
OWN_CLASS = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: gp3
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: ebs.csi.aws.com
---
apiVersion: v1
kind: LimitRange
metadata: {name: team-defaults, namespace: shop}
spec:
  limits:
  - type: Container
    default: {cpu: 750m}
"""


def section(**keys: object) -> config.FixDefaultsConfig:
    return config.from_data({"teams": TEAMS, "fix_defaults": keys}).fix_defaults


def test_own_files_come_before_the_bundled(tmp_path: Path) -> None:
    """Their LimitRanges are tried first, and their default class wins."""
    (tmp_path / "platform.yaml").write_text(OWN_CLASS)

    found = app.load_fix_defaults(section(paths=[str(tmp_path)]))

    assert found.storage_class == "gp3"
    assert [entry.source for entry in found.containers] == [
        "LimitRange shop/team-defaults",
        "LimitRange platform-container-defaults",
    ]


def test_bundled_only_by_default() -> None:
    found = app.load_fix_defaults(section())

    assert found.storage_class == "standard"
    assert found.sources == ("LimitRange platform-container-defaults", "StorageClass standard")


def test_no_files_means_no_defaults() -> None:
    assert app.load_fix_defaults(section(bundled=False)) == platform_defaults.NO_DEFAULTS


def test_unreadable_file_stops_the_start(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("- just\n- a list\n")

    with pytest.raises(InputError, match="must be a Kubernetes object"):
        app.load_fix_defaults(section(paths=[str(broken)]))
