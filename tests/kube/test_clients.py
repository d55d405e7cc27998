"""Connecting, and the API server's failures turned into ours, over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kmock
import kubernetes
import pytest
from kubernetes.client import ApiClient

from bot.errors import PermanentError, TemporaryError
from bot.kube import clients
from tests.kube.conftest import write_kubeconfig

POD_PATH = "get /api/v1/namespaces/shop/pods/web"


@pytest.fixture
def cluster(kmock: kmock.KubernetesEmulator, tmp_path: Path) -> Iterator[ApiClient]:
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", str(kmock.url).rstrip("/"))
    client = clients.connect(kubeconfig=str(kubeconfig))
    yield client
    clients.close(client)


async def read_pod(api: ApiClient) -> Any:
    core = kubernetes.client.CoreV1Api(api)
    return await clients.read_json(core.read_namespaced_pod, "web", "shop", action="read Pod web")


def status(code: int, message: str, reason: str = "Failure") -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }


async def test_kubeconfig_points_the_client_at_its_server(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock[POD_PATH] << {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}

    pod = await read_pod(cluster)

    assert pod["metadata"]["name"] == "web"
    assert cluster.configuration.host == str(kmock.url).rstrip("/")


@pytest.mark.parametrize(
    ("code", "error", "hint"),
    [
        (401, clients.AccessDeniedError, "Check the bot's credentials and RBAC"),
        (403, clients.AccessDeniedError, "Check the bot's credentials and RBAC"),
        (404, clients.NotFoundError, "HTTP 404"),
        (410, clients.GoneError, "HTTP 410"),
        (422, PermanentError, "HTTP 422"),
        (429, TemporaryError, "HTTP 429"),
        (500, TemporaryError, "HTTP 500"),
        (503, TemporaryError, "HTTP 503"),
    ],
)
async def test_status_codes_become_our_errors(
    kmock: kmock.KubernetesEmulator,
    cluster: ApiClient,
    code: int,
    error: type[Exception],
    hint: str,
) -> None:
    kmock[POD_PATH] << code << status(code, "told by the server")

    with pytest.raises(error, match=hint) as raised:
        await read_pod(cluster)

    assert "Could not read Pod web" in str(raised.value)
    assert "told by the server" in str(raised.value)
    assert isinstance(raised.value.__cause__, kubernetes.client.ApiException)


async def test_long_status_message_is_cut(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    kmock[POD_PATH] << 422 << status(422, "x" * 5000)

    with pytest.raises(PermanentError) as raised:
        await read_pod(cluster)

    assert str(raised.value).count("x") == clients.BODY_LIMIT - 1
    assert str(raised.value).endswith("…")


async def test_body_that_is_not_a_status_is_dropped(
    kmock: kmock.KubernetesEmulator, cluster: ApiClient
) -> None:
    """A proxy's page or an object must not reach logs."""
    kmock[POD_PATH] << 502 << b"<html>password=hunter2</html>"

    with pytest.raises(TemporaryError) as raised:
        await read_pod(cluster)

    assert "hunter2" not in str(raised.value)
    assert str(raised.value) == "Could not read Pod web: HTTP 502 Bad Gateway"


async def test_retry_after_is_kept_as_a_hint() -> None:
    """The server's Retry-After becomes TemporaryError.retry_after."""
    error = kubernetes.client.ApiException(status=429, reason="Too Many Requests")
    error.headers = {"Retry-After": "7"}

    translated = clients.translate(error, action="list events")

    assert isinstance(translated, TemporaryError)
    assert translated.retry_after == 7.0


async def test_refused_connection_is_temporary(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}")
    api = clients.connect(kubeconfig=str(kubeconfig))
    api.configuration.retries = 0

    with pytest.raises(TemporaryError, match="the connection to the API server failed"):
        await read_pod(api)
    clients.close(api)


def test_broken_kubeconfig_names_the_file(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n")

    with pytest.raises(PermanentError, match=f"from {kubeconfig}") as raised:
        clients.connect(kubeconfig=str(kubeconfig))

    assert "Pass --kubeconfig" in str(raised.value)


def test_in_cluster_without_service_account_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inside a pod (the env var says so) but with no token mounted."""
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")

    with pytest.raises(PermanentError, match="the pod's service account"):
        clients.connect()
