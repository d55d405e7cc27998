"""Cluster data for Kyverno `context` entries: `configMap` and `apiCall`.

The engine does no I/O; when a rule's context reads a ConfigMap or calls the
API server, it asks the `bot.policy.contexts.ContextResolver` it was given.
`ClusterContextResolver` is that resolver for a live cluster, built on the
project's `ApiClient`.

It blocks: the engine calls it synchronously, and the engine itself runs in
a worker thread (`asyncio.to_thread(judge.check, ...)` in `bot.slack.app`).
Never call it on the event loop.

A burst of rejections evaluates the same policies many times in a few
seconds, so answers (including "no such ConfigMap") are kept for a short
TTL and shared between threads. Failures are not kept: the next evaluation
asks again. They are raised as `bot.errors` (through `clients.translating`),
and the engine reports the rule as `error` with that message, as Kyverno
reports a context entry it could not load.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import kubernetes
from kubernetes.client import ApiClient

from bot.errors import PermanentError
from bot.kube import clients
from bot.kube.answers import Answers

logger = logging.getLogger(__name__)

METHODS = ("GET", "POST")


class ClusterContextResolver:
    """Reads ConfigMaps and makes Kyverno `apiCall`s against the cluster.

    Thread-safe and blocking; see the module docstring.

    Args:
        api: the client from `bot.kube.clients.connect`.
        timeout: seconds for each request, connecting and reading together;
            an admission check should not wait longer for its context.
        cache_ttl: seconds an answer is reused; 0 turns the cache off.
        clock: monotonic seconds, replaceable in tests.
    """

    def __init__(
        self,
        api: ApiClient,
        *,
        timeout: float = 5.0,
        cache_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._core = kubernetes.client.CoreV1Api(api)
        self._timeout = timeout
        self._answers: Answers[tuple[str, ...], Any] = Answers(cache_ttl, clock)

    def config_map(self, name: str, namespace: str) -> Mapping[str, Any] | None:
        """The ConfigMap as the API server's JSON (`data`, `metadata`, ...).

        None when it does not exist, so the engine can say which one is
        missing. Raises `AccessDeniedError` without RBAC `get` on configmaps.
        """
        # NB: Kyverno reads a configMap entry without a namespace from "default".
        namespace = namespace or "default"
        key = ("configMap", namespace, name)
        cached, found = self._cached(key)
        if cached:
            return found  # type: ignore[no-any-return]

        action = f"read ConfigMap {namespace}/{name} for a policy context"
        try:
            with clients.translating(action):
                found = self._read_config_map(name, namespace)
        except clients.NotFoundError:
            found = None
        except clients.AccessDeniedError:
            logger.warning(
                "Cannot read ConfigMap %s/%s for a policy context: access denied. "
                "Grant the bot `get` on configmaps in %s, or rules using it report errors.",
                namespace,
                name,
                namespace,
            )
            raise
        self._answers.put(key, found)
        return found  # type: ignore[no-any-return]

    def api_call(self, call: Mapping[str, Any]) -> Any:
        """The parsed JSON answer to a Kyverno `apiCall` entry.

        `call` is the entry with its variables already substituted:
        `urlPath` (with any query string), `method` (GET, the default, or
        POST) and, for POST, `data` as a list of `{key, value}` that becomes
        the JSON body. The engine applies `jmesPath` afterwards.

        Raises:
            PermanentError: the entry asks for something we do not do, such
                as a `service` call outside the API server.
        """
        method, path, body = _parse_call(call)
        key = ("apiCall", method, path, json.dumps(body, sort_keys=True, default=str))
        cached, found = self._cached(key)
        if cached:
            return found

        with clients.translating(f"{method} {path} for a policy context"):
            found = self._request(method, path, body)
        self._answers.put(key, found)
        return found

    # -- the requests ------------------------------------------------------------

    def _read_config_map(self, name: str, namespace: str) -> Any:
        # NB: without preloading, the client returns urllib3's raw response,
        # whatever its annotation says.
        response: Any = self._core.read_namespaced_config_map(
            name, namespace, _preload_content=False, _request_timeout=self._timeout
        )
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        # The path goes to the server as written, query string and all, the
        # way Kyverno sends it; the client adds the host and credentials.
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        serialized = self._api.param_serialize(
            method=method,
            resource_path=path,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(*serialized, _request_timeout=self._timeout)
        raw = response.response
        try:
            if not 200 <= response.status <= 299:
                response.read()  # type: ignore[no-untyped-call]
                raise kubernetes.client.ApiException.from_response(
                    http_resp=response, body=None, data=None
                )
            return json.loads(raw.data)
        finally:
            raw.release_conn()

    # -- the cache ---------------------------------------------------------------

    def _cached(self, key: tuple[str, ...]) -> tuple[bool, Any]:
        cached, found = self._answers.get(key)
        if cached:
            logger.debug("Reusing the cached answer for %s.", " ".join(key[:3]))
        return cached, found


def _parse_call(call: Mapping[str, Any]) -> tuple[str, str, dict[str, Any] | None]:
    """The method, path and JSON body of an `apiCall`, checked."""
    if call.get("service"):
        raise PermanentError(
            "apiCall with `service` is not supported: policybot calls only the "
            "Kubernetes API server. Use `urlPath`, or check this rule in Kyverno itself."
        )
    path = call.get("urlPath")
    # NB: a path starting with "//" would name another host to urllib3.
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//"):
        raise PermanentError(
            f"apiCall `urlPath` must be an API server path starting with '/', got {path!r}."
        )
    method = str(call.get("method") or "GET").upper()
    if method not in METHODS:
        raise PermanentError(f"apiCall `method` must be GET or POST, got {method!r}.")
    if method == "GET":
        return method, path, None

    body: dict[str, Any] = {}
    for item in call.get("data") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            raise PermanentError(f"apiCall `data` items must be {{key, value}} maps, got {item!r}.")
        body[item["key"]] = item.get("value")
    return method, path, body
