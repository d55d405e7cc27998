"""Owner lookups against kmock's Kubernetes emulator, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient

from bot.kube import clients, owners
from tests.kube.conftest import write_kubeconfig

PODS = kmock.resource("", "v1", "pods")
REPLICASETS = kmock.resource("apps", "v1", "replicasets")
DEPLOYMENTS = kmock.resource("apps", "v1", "deployments")
STATEFULSETS = kmock.resource("apps", "v1", "statefulsets")
JOBS = kmock.resource("batch", "v1", "jobs")
CRONJOBS = kmock.resource("batch", "v1", "cronjobs")


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator, tmp_path: Path) -> Iterator[ApiClient]:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))
    client = clients.connect(kubeconfig=str(kubeconfig))
    yield client
    clients.close(client)


def obj(
    api_version: str, kind: str, name: str, *, owner: dict[str, Any] | None = None, **spec: Any
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": "shop", "uid": f"uid-{name}"}
    if owner is not None:
        metadata["ownerReferences"] = [owner]
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def owned_by(api_version: str, kind: str, name: str, *, controller: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": f"uid-{name}",
        "controller": controller,
    }


async def test_pod_resolves_to_its_deployment(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    """Pod -> ReplicaSet -> Deployment ends at the Deployment."""
    kmock.objects[DEPLOYMENTS, "shop", "web"] = obj("apps/v1", "Deployment", "web", replicas=2)
    kmock.objects[REPLICASETS, "shop", "web-7d9"] = obj(
        "apps/v1", "ReplicaSet", "web-7d9", owner=owned_by("apps/v1", "Deployment", "web")
    )
    kmock.objects[PODS, "shop", "web-7d9-abcde"] = obj(
        "v1", "Pod", "web-7d9-abcde", owner=owned_by("apps/v1", "ReplicaSet", "web-7d9")
    )
    resolver = owners.OwnerResolver(cluster)

    workload = await resolver.find_top_workload(
        owners.ObjectRef("v1", "Pod", "web-7d9-abcde", "shop")
    )

    assert workload.manifest["kind"] == "Deployment"
    assert workload.manifest["spec"] == {"replicas": 2}
    assert [str(ref) for ref in workload.chain] == [
        "Pod shop/web-7d9-abcde",
        "ReplicaSet shop/web-7d9",
        "Deployment shop/web",
    ]
    assert workload.stopped == ""


async def test_job_resolves_to_its_cronjob(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    """A Job made by a CronJob is fixed in the CronJob."""
    kmock.objects[CRONJOBS, "shop", "nightly"] = obj("batch/v1", "CronJob", "nightly")
    kmock.objects[JOBS, "shop", "nightly-2910"] = obj(
        "batch/v1", "Job", "nightly-2910", owner=owned_by("batch/v1", "CronJob", "nightly")
    )
    resolver = owners.OwnerResolver(cluster)

    manifest = await resolver.find_top_manifest(
        api_version="batch/v1", kind="Job", namespace="shop", name="nightly-2910"
    )

    assert manifest["kind"] == "CronJob"
    assert manifest["metadata"]["name"] == "nightly"


async def test_statefulset_pod_resolves_to_statefulset(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.objects[STATEFULSETS, "shop", "db"] = obj("apps/v1", "StatefulSet", "db")
    kmock.objects[PODS, "shop", "db-0"] = obj(
        "v1", "Pod", "db-0", owner=owned_by("apps/v1", "StatefulSet", "db")
    )

    workload = await owners.OwnerResolver(cluster).find_top_workload(
        owners.ObjectRef("v1", "Pod", "db-0", "shop")
    )

    assert workload.manifest["kind"] == "StatefulSet"


async def test_deleted_owner_stops_at_last_object(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    """An owner that is gone leaves us with the object we could read."""
    kmock.objects[REPLICASETS, "shop", "web-7d9"] = obj(
        "apps/v1", "ReplicaSet", "web-7d9", owner=owned_by("apps/v1", "Deployment", "web")
    )

    workload = await owners.OwnerResolver(cluster).find_top_workload(
        owners.ObjectRef("apps/v1", "ReplicaSet", "web-7d9", "shop")
    )

    assert workload.manifest["kind"] == "ReplicaSet"
    assert workload.stopped == "its owner Deployment shop/web no longer exists"


async def test_unknown_owner_kind_stops_the_walk(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    """We do not read custom resources; the ReplicaSet is the best we have."""
    kmock.objects[REPLICASETS, "shop", "web-7d9"] = obj(
        "apps/v1",
        "ReplicaSet",
        "web-7d9",
        owner=owned_by("argoproj.io/v1alpha1", "Rollout", "web"),
    )

    workload = await owners.OwnerResolver(cluster).find_top_workload(
        owners.ObjectRef("apps/v1", "ReplicaSet", "web-7d9", "shop")
    )

    assert workload.manifest["kind"] == "ReplicaSet"
    assert "Rollout shop/web, a kind we do not read" in workload.stopped
    assert len(kmock) == 1


async def test_non_controller_owner_is_not_followed(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.objects[PODS, "shop", "debug"] = obj(
        "v1", "Pod", "debug", owner=owned_by("apps/v1", "Deployment", "web", controller=False)
    )

    workload = await owners.OwnerResolver(cluster).find_top_workload(
        owners.ObjectRef("v1", "Pod", "debug", "shop")
    )

    assert workload.manifest["kind"] == "Pod"
    assert workload.stopped == ""


async def test_missing_start_object_is_not_found(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.resources["v1/pods"] = kmock.ResourceInfo(kind="Pod", namespaced=True)

    with pytest.raises(clients.NotFoundError, match="Could not read Pod shop/gone: HTTP 404"):
        await owners.OwnerResolver(cluster).find_top_workload(
            owners.ObjectRef("v1", "Pod", "gone", "shop")
        )


async def test_forbidden_owner_warns_and_stops(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Without RBAC on Deployments we keep the ReplicaSet and say so."""
    kmock.objects[REPLICASETS, "shop", "web-7d9"] = obj(
        "apps/v1", "ReplicaSet", "web-7d9", owner=owned_by("apps/v1", "Deployment", "web")
    )
    (
        kmock["get /apis/apps/v1/namespaces/shop/deployments/web"]
        << 403
        << {
            "kind": "Status",
            "apiVersion": "v1",
            "code": 403,
            "reason": "Forbidden",
            "message": 'deployments.apps "web" is forbidden: User "policybot" cannot get',
        }
    )

    workload = await owners.OwnerResolver(cluster).find_top_workload(
        owners.ObjectRef("apps/v1", "ReplicaSet", "web-7d9", "shop")
    )

    assert workload.manifest["kind"] == "ReplicaSet"
    assert workload.stopped == "RBAC hides its owner Deployment shop/web"
    assert "Grant the bot `get`" in caplog.records[0].getMessage()


async def test_reads_a_namespace(kmock: kmock.KubernetesEmulator, cluster: ApiClient) -> None:
    """Namespaces are read too: their labels name the owning team."""
    # NB: kmock reads /api/v1/namespaces/shop as "namespace shop", not as the
    # object, so it is served as a plain reaction instead of a stored object.
    kmock["get /api/v1/namespaces/shop"] << {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "labels": {"team": "payments"}},
    }

    namespace = await owners.OwnerResolver(cluster).read(
        owners.ObjectRef("v1", "Namespace", "shop")
    )

    assert namespace["metadata"]["labels"] == {"team": "payments"}


async def test_unsupported_kind_is_refused_without_a_request(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    with pytest.raises(clients.NotFoundError, match="policybot reads only"):
        await owners.OwnerResolver(cluster).read(owners.ObjectRef("v1", "Secret", "db", "shop"))

    assert len(kmock) == 0
