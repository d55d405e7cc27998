"""`policies.cluster: true`: the Kyverno policies installed in the cluster.

The official client reads them from the API server emulator over HTTP, as
`policybot run` does at start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot import app
from bot.errors import PermanentError
from bot.kube import clients
from tests.kube.conftest import write_kubeconfig
from tests.scenarios.cluster import ClusterServer

REQUIRE_LABELS: dict[str, Any] = {
    # NB: items of a list come without apiVersion and kind, as from a real server.
    "metadata": {"name": "require-cost-center", "resourceVersion": "7"},
    "spec": {
        "validationFailureAction": "Enforce",
        "rules": [
            {
                "name": "cost-center-label",
                "match": {"any": [{"resources": {"kinds": ["Deployment"]}}]},
                "validate": {
                    "message": "Every Deployment needs a cost-center label.",
                    "pattern": {"metadata": {"labels": {"cost-center": "?*"}}},
                },
            }
        ],
    },
}
BROKEN: dict[str, Any] = {"metadata": {"name": "broken"}, "spec": {"rules": "not a list"}}


@pytest.fixture
async def cluster() -> AsyncIterator[ClusterServer]:
    server = ClusterServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def api(cluster: ClusterServer, tmp_path: Path) -> Iterator[Any]:
    client = clients.connect(kubeconfig=str(write_kubeconfig(tmp_path / "kc", cluster.url)))
    yield client
    clients.close(client)


def serve_lists(cluster: ClusterServer, *cluster_policies: dict[str, Any]) -> None:
    cluster.stored["/apis/kyverno.io/v1/clusterpolicies"] = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicyList",
        "items": list(cluster_policies),
    }
    cluster.stored["/apis/kyverno.io/v1/policies"] = {
        "apiVersion": "kyverno.io/v1",
        "kind": "PolicyList",
        "items": [],
    }


async def test_installed_policies_are_read(cluster: ClusterServer, api: Any) -> None:
    """ClusterPolicies come back as policies the engine can evaluate."""
    serve_lists(cluster, REQUIRE_LABELS)

    found = await app.read_cluster_policies(api)

    assert [(p.kind, p.name) for p in found] == [("ClusterPolicy", "require-cost-center")]
    assert [r.name for r in found[0].rules if not r.name.startswith("autogen")] == [
        "cost-center-label"
    ]


async def test_unreadable_policy_is_skipped(
    cluster: ClusterServer, api: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """One malformed policy costs only itself, with a warning naming it."""
    serve_lists(cluster, BROKEN, REQUIRE_LABELS)

    found = await app.read_cluster_policies(api)

    assert [p.name for p in found] == ["require-cost-center"]
    assert "Skipping a ClusterPolicy of the cluster" in caplog.text


async def test_missing_kyverno_fails_the_start(api: Any) -> None:
    """Without Kyverno's API the start fails, saying what was asked."""
    with pytest.raises(PermanentError, match=r"/apis/kyverno.io/v1/clusterpolicies: HTTP 404"):
        await app.read_cluster_policies(api)
