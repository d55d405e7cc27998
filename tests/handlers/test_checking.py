"""`/policy check`'s Judge: fixes that copy the platform's defaults, and CEL fixes.

The cluster is the API server emulator of `tests.kube`, reached over real
HTTP by the official client, as `policybot run` reaches a cluster. The Judge
blocks (the listeners run it in a worker thread), so the tests call it
through `asyncio.to_thread`.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from bot.knowledge.catalog import bundled_platform_paths, load_catalog
from bot.kube import ClusterDefaults, clients
from bot.policy import celpolicies, documents, policies
from bot.policy.fixes import platform_defaults
from bot.slack import command_texts as texts
from handlers.checking import Judge
from tests.kube.apiserver import FakeApiServer
from tests.kube.conftest import write_kubeconfig

KNOWLEDGE = platform_defaults.load(bundled_platform_paths())
REQUIRE_CPU_LIMITS: dict[str, Any] = {
    "apiVersion": "kyverno.io/v1",
    "kind": "ClusterPolicy",
    "metadata": {"name": "require-cpu-limits"},
    "spec": {
        "validationFailureAction": "Enforce",
        "rules": [
            {
                "name": "cpu-limit",
                "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
                "validate": {
                    "message": "Every container needs a CPU limit.",
                    "pattern": {"spec": {"containers": [{"resources": {"limits": {"cpu": "?*"}}}]}},
                },
            }
        ],
    },
}
CEL_CPU_LIMITS: dict[str, Any] = {
    "apiVersion": "policies.kyverno.io/v1alpha1",
    "kind": "ValidatingPolicy",
    "metadata": {"name": "cel-cpu-limits"},
    "spec": {
        "validationActions": ["Deny"],
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["pods"],
                }
            ]
        },
        "validations": [
            {
                "expression": (
                    "object.spec.containers.all(c, has(c.resources) && "
                    "has(c.resources.limits) && has(c.resources.limits.cpu))"
                ),
                "message": "Every container needs a CPU limit.",
            }
        ],
    },
}
LIMIT_RANGE: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "LimitRange",
    "metadata": {"name": "team-defaults", "namespace": "shop"},
    "spec": {"limits": [{"type": "Container", "default": {"cpu": "750m"}}]},
}
POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
}


def document(content: dict[str, Any]) -> documents.Document:
    return documents.Document(source="test", index=1, content=content)


@pytest.fixture
async def apiserver() -> AsyncIterator[FakeApiServer]:
    server = FakeApiServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def api(apiserver: FakeApiServer, tmp_path: Path) -> Iterator[ApiClient]:
    client = clients.connect(kubeconfig=str(write_kubeconfig(tmp_path / "kc", apiserver.url)))
    yield client
    clients.close(client)


@pytest.fixture
def judge(api: ApiClient) -> Judge:
    """The Judge as `policybot run` builds it: the cluster's defaults first."""
    return Judge(
        policies=[policies.from_document(document(REQUIRE_CPU_LIMITS))],
        cel_policies=celpolicies.from_documents([document(CEL_CPU_LIMITS)]),
        catalog=load_catalog(),
        defaults=ClusterDefaults(api, fallback=KNOWLEDGE),
    )


async def check(judge: Judge, manifest: dict[str, Any] = POD) -> dict[str, texts.Finding]:
    verdict = await asyncio.to_thread(judge.check, manifest, subject="Pod shop/web")
    return {finding.policy: finding for finding in verdict.findings}


async def test_kyverno_fix_copies_the_namespace_limit(
    judge: Judge, apiserver: FakeApiServer
) -> None:
    apiserver.put_listed(LIMIT_RANGE)

    found = await check(judge)

    fix = found["require-cpu-limits"].fix
    assert fix.status == "exact"
    assert "+          cpu: 750m" in fix.diff
    assert fix.summary == (
        'set spec.containers[0].resources to {limits: {cpu: "750m"}} '
        "(the platform default in LimitRange shop/team-defaults)",
    )
    assert "/api/v1/namespaces/shop/limitranges" in [r.path for r in apiserver.requests]


async def test_cel_policy_failure_carries_a_fix(judge: Judge, apiserver: FakeApiServer) -> None:
    apiserver.put_listed(LIMIT_RANGE)

    found = await check(judge)

    fix = found["cel-cpu-limits"].fix
    assert found["cel-cpu-limits"].blocks
    assert fix.status == "exact"
    assert "+          cpu: 750m" in fix.diff
    assert "LimitRange shop/team-defaults" in fix.summary[0]


async def test_erring_cel_policy_gets_a_fix_too(api: ApiClient) -> None:
    """`has()` on a missing parent is an error, which rejects all the same."""
    erring = copy.deepcopy(CEL_CPU_LIMITS)
    erring["spec"]["validations"][0]["expression"] = (
        "object.spec.containers.all(c, has(c.resources.limits.cpu))"
    )
    judge = Judge(
        policies=[],
        cel_policies=celpolicies.from_documents([document(erring)]),
        catalog=load_catalog(),
        defaults=ClusterDefaults(api, fallback=KNOWLEDGE),
    )

    (finding,) = (await check(judge)).values()

    assert finding.status == "error"
    assert finding.fix.status == "exact"


async def test_knowledge_base_fills_in_without_a_limit_range(judge: Judge) -> None:
    found = await check(judge)

    fix = found["require-cpu-limits"].fix
    assert fix.status == "exact"
    assert "+          cpu: 500m" in fix.diff
    assert "LimitRange platform-container-defaults" in fix.summary[0]


async def test_forbidden_cluster_still_gets_a_fix(judge: Judge, apiserver: FakeApiServer) -> None:
    apiserver.put_listed(LIMIT_RANGE)
    apiserver.fail_next(403, times=2, reason="Forbidden")

    found = await check(judge)

    assert "+          cpu: 500m" in found["require-cpu-limits"].fix.diff


async def test_compliant_manifest_reads_nothing(judge: Judge, apiserver: FakeApiServer) -> None:
    """The defaults are read only when a rule fails."""
    limited = {
        **POD,
        "spec": {
            "containers": [
                {"name": "web", "image": "nginx:1.27", "resources": {"limits": {"cpu": "1"}}}
            ]
        },
    }

    found = await check(judge, limited)

    assert found == {}
    assert apiserver.requests == []


def test_without_defaults_the_fix_is_guided() -> None:
    """A Judge built without a source (tests, the demo) leaves a placeholder."""
    judge = Judge(
        policies=[policies.from_document(document(REQUIRE_CPU_LIMITS))],
        cel_policies=celpolicies.from_documents([document(CEL_CPU_LIMITS)]),
        catalog=load_catalog(),
    )

    verdict = judge.check(POD, subject="Pod shop/web")

    assert [f.fix.status for f in verdict.findings] == ["guided", "guided"]
    assert all(f.fix.placeholders for f in verdict.findings)


def test_fixed_defaults_need_no_cluster() -> None:
    judge = Judge(
        policies=[policies.from_document(document(REQUIRE_CPU_LIMITS))],
        catalog=load_catalog(),
        defaults=KNOWLEDGE,
    )

    (finding,) = judge.check(POD, subject="Pod shop/web").findings

    assert finding.fix.status == "exact"
    assert "+          cpu: 500m" in finding.fix.diff
