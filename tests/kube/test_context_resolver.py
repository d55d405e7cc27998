"""Policy context entries read from kmock's Kubernetes emulator, over real HTTP.

The resolver blocks, and kmock serves from the test's event loop, so every
call goes through `asyncio.to_thread`, as the bot's own callers do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock
import pytest
from kubernetes.client import ApiClient

from bot.errors import PermanentError
from bot.kube import clients
from bot.kube.context_resolver import ClusterContextResolver
from bot.policy import documents, engine, policies
from bot.policy.contexts import EvaluationContext
from bot.policy.requests import AdmissionRequest
from tests.kube.conftest import write_kubeconfig

CONFIGMAPS = kmock.resource("", "v1", "configmaps")
PODS = kmock.resource("", "v1", "pods")
FORBIDDEN = {
    "kind": "Status",
    "apiVersion": "v1",
    "code": 403,
    "reason": "Forbidden",
    "message": 'configmaps "limits" is forbidden: User "policybot" cannot get resource',
}


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator, tmp_path: Path) -> Iterator[ApiClient]:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))
    client = clients.connect(kubeconfig=str(kubeconfig))
    yield client
    clients.close(client)


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def config_map(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "shop"},
        "data": data,
    }


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"}}


async def load_entry(resolver: ClusterContextResolver, entry: dict[str, Any]) -> Any:
    """Load one context entry the way the engine does, and read it back."""

    def load() -> Any:
        context = EvaluationContext.for_request(AdmissionRequest(object=pod("web")))
        context.load_entries([entry], resolver=resolver)
        return context.query(entry["name"])

    return await asyncio.to_thread(load)


# -- configMap -------------------------------------------------------------------


async def test_config_map_comes_back_as_json(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.objects[CONFIGMAPS, "shop", "limits"] = config_map("limits", allowed="payments")
    resolver = ClusterContextResolver(cluster)

    found = await asyncio.to_thread(resolver.config_map, "limits", "shop")

    assert found is not None
    assert found["data"] == {"allowed": "payments"}
    assert found["metadata"]["name"] == "limits"


async def test_missing_config_map_is_none(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.resources["v1/configmaps"] = kmock.ResourceInfo(kind="ConfigMap", namespaced=True)
    resolver = ClusterContextResolver(cluster)

    found = await asyncio.to_thread(resolver.config_map, "gone", "shop")

    assert found is None


async def test_forbidden_config_map_names_the_rbac_fix(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient, caplog: pytest.LogCaptureFixture
) -> None:
    kmock["get /api/v1/namespaces/shop/configmaps/limits"] << 403 << FORBIDDEN
    resolver = ClusterContextResolver(cluster)

    with pytest.raises(clients.AccessDeniedError) as raised:
        await asyncio.to_thread(resolver.config_map, "limits", "shop")

    message = str(raised.value)
    assert message.startswith("Could not read ConfigMap shop/limits for a policy context: HTTP 403")
    assert "cannot get resource" in message
    assert "Check the bot's credentials and RBAC" in message
    assert "Grant the bot `get` on configmaps in shop" in caplog.records[0].getMessage()


async def test_forbidden_config_map_makes_the_rule_an_error(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    """The engine reports the rule, not the whole check, as failed."""
    kmock["get /api/v1/namespaces/shop/configmaps/limits"] << 403 << FORBIDDEN
    request = AdmissionRequest(object=labelled_pod("payments"))
    inputs = engine.Inputs(resolver=ClusterContextResolver(cluster))

    results = await asyncio.to_thread(engine.evaluate, team_policy(), request, inputs)

    assert [r.status for r in results] == ["error"]
    assert "HTTP 403" in results[0].message


# -- apiCall ---------------------------------------------------------------------


async def test_api_call_returns_the_list(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.objects[PODS, "shop", "web-1"] = pod("web-1")
    kmock.objects[PODS, "shop", "web-2"] = pod("web-2")
    resolver = ClusterContextResolver(cluster)

    path = "/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb&limit=50"

    found = await asyncio.to_thread(resolver.api_call, {"urlPath": path})

    assert sorted(item["metadata"]["name"] for item in found["items"]) == ["web-1", "web-2"]
    [sent] = list(kmock)
    assert sent.params == {"labelSelector": "app=web", "limit": "50"}


async def test_engine_applies_the_jmes_path(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.objects[PODS, "shop", "web-1"] = pod("web-1")
    kmock.objects[PODS, "shop", "web-2"] = pod("web-2")
    resolver = ClusterContextResolver(cluster)
    url = "/api/v1/namespaces/{{ request.namespace }}/pods"

    whole = await load_entry(resolver, {"name": "pods", "apiCall": {"urlPath": url}})
    count = await load_entry(
        resolver,
        {"name": "count", "apiCall": {"urlPath": url, "jmesPath": "items | length(@)"}},
    )

    assert len(whole["items"]) == 2
    assert count == 2
    assert [r.url.path for r in kmock] == ["/api/v1/namespaces/shop/pods"]


async def test_api_call_posts_its_data(kmock: kmock.KubernetesEmulator, cluster: ApiClient) -> None:
    path = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
    kmock[f"post {path}"] << {"status": {"allowed": True}}
    resolver = ClusterContextResolver(cluster)
    call = {
        "urlPath": path,
        "method": "POST",
        "data": [
            {"key": "kind", "value": "SubjectAccessReview"},
            {"key": "spec", "value": {"user": "alice", "resourceAttributes": {"verb": "get"}}},
        ],
    }

    found = await asyncio.to_thread(resolver.api_call, call)

    assert found == {"status": {"allowed": True}}
    [sent] = list(kmock)
    assert sent.data == {
        "kind": "SubjectAccessReview",
        "spec": {"user": "alice", "resourceAttributes": {"verb": "get"}},
    }


async def test_service_call_is_refused_without_a_request(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    resolver = ClusterContextResolver(cluster)
    call = {"service": {"url": "https://svc.example/check"}}

    with pytest.raises(PermanentError, match="`service` is not supported"):
        await asyncio.to_thread(resolver.api_call, call)

    assert len(kmock) == 0


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        ({"urlPath": "api/v1/pods"}, "must be an API server path"),
        ({"urlPath": "//evil.example/x"}, "must be an API server path"),
        ({"urlPath": "/api/v1/pods", "method": "DELETE"}, "must be GET or POST"),
        ({"urlPath": "/x", "method": "POST", "data": ["kind"]}, "items must be {key, value}"),
    ],
)
def test_malformed_call_is_refused(call: dict[str, Any], problem: str) -> None:
    resolver = ClusterContextResolver(ApiClient())

    with pytest.raises(PermanentError, match=problem):
        resolver.api_call(call)


# -- the cache -------------------------------------------------------------------


async def test_answers_are_reused_within_the_ttl(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.objects[CONFIGMAPS, "shop", "limits"] = config_map("limits", allowed="payments")
    kmock.objects[PODS, "shop", "web-1"] = pod("web-1")
    clock = Clock()
    resolver = ClusterContextResolver(cluster, cache_ttl=30.0, clock=clock)
    call = {"urlPath": "/api/v1/namespaces/shop/pods"}

    for _ in range(3):
        await asyncio.to_thread(resolver.config_map, "limits", "shop")
        await asyncio.to_thread(resolver.api_call, call)
    within = len(kmock)
    clock.now += 31.0
    await asyncio.to_thread(resolver.config_map, "limits", "shop")

    assert within == 2
    assert len(kmock) == 3


async def test_missing_config_map_is_cached_too(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.resources["v1/configmaps"] = kmock.ResourceInfo(kind="ConfigMap", namespaced=True)
    resolver = ClusterContextResolver(cluster)

    first = await asyncio.to_thread(resolver.config_map, "gone", "shop")
    second = await asyncio.to_thread(resolver.config_map, "gone", "shop")

    assert first is second is None
    assert len(kmock) == 1


async def test_failures_are_not_cached(kmock: kmock.KubernetesEmulator, cluster: ApiClient) -> None:
    """A denied read is asked again: RBAC may have been granted meanwhile."""
    kmock["get /api/v1/namespaces/shop/configmaps/limits"] << 403 << FORBIDDEN
    resolver = ClusterContextResolver(cluster)

    for _ in range(2):
        with pytest.raises(clients.AccessDeniedError):
            await asyncio.to_thread(resolver.config_map, "limits", "shop")

    assert len(kmock) == 2


# -- end to end through the engine -----------------------------------------------


def team_policy() -> policies.Policy:
    content = {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "team-from-configmap"},
        "spec": {
            "rules": [
                {
                    "name": "allowed-team",
                    "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                    "context": [
                        {
                            "name": "cm",
                            "configMap": {
                                "name": "limits",
                                "namespace": "{{ request.namespace }}",
                            },
                        }
                    ],
                    "validate": {
                        "message": "team must be {{ cm.data.allowed }}",
                        "pattern": {"metadata": {"labels": {"team": "{{ cm.data.allowed }}"}}},
                    },
                }
            ]
        },
    }
    return policies.from_document(documents.Document("policy.yaml", 1, content))


def labelled_pod(team: str) -> dict[str, Any]:
    manifest = pod("web")
    manifest["metadata"]["labels"] = {"team": team}
    return manifest


@pytest.mark.parametrize(("team", "status"), [("payments", "pass"), ("search", "fail")])
async def test_policy_reads_the_cluster_config_map(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient, team: str, status: str
) -> None:
    kmock.objects[CONFIGMAPS, "shop", "limits"] = config_map("limits", allowed="payments")
    request = AdmissionRequest(object=labelled_pod(team))
    inputs = engine.Inputs(resolver=ClusterContextResolver(cluster))

    results = await asyncio.to_thread(engine.evaluate, team_policy(), request, inputs)

    assert [r.status for r in results] == [status]
    if status == "fail":
        assert "team must be payments" in results[0].message


async def test_policy_without_the_config_map_is_an_error(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock.resources["v1/configmaps"] = kmock.ResourceInfo(kind="ConfigMap", namespaced=True)
    request = AdmissionRequest(object=labelled_pod("payments"))
    inputs = engine.Inputs(resolver=ClusterContextResolver(cluster))

    results = await asyncio.to_thread(engine.evaluate, team_policy(), request, inputs)

    assert [r.status for r in results] == ["error"]
    assert "ConfigMap shop/limits not found" in results[0].message
