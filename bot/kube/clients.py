"""Connecting to the cluster, calling it, and turning its failures into ours.

This is the only module that knows the `kubernetes` client's configuration
and exception types. It loads the in-cluster service account or a kubeconfig
into a private `ApiClient` (never the library's global default), runs the
client's blocking calls in worker threads, and converts `ApiException` and
urllib3's connection errors into the project's error tree:

    PermanentError
     +-- AccessDeniedError   401/403: grant the RBAC named in the message
     +-- NotFoundError       404: the object or the API is not there
    TemporaryError           429, 5xx, lost or refused connections
     +-- GoneError           410: the resourceVersion expired; list again

Response bodies end up in messages only when they are a Kubernetes `Status`,
and then only its message, cut to 256 characters: anything else may be a
whole object, or a proxy's page, and has no place in a log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import kubernetes
import urllib3
from kubernetes.client import ApiClient

from bot.errors import PermanentError, PolicybotError, TemporaryError

logger = logging.getLogger(__name__)

T = TypeVar("T")

BODY_LIMIT = 256
IN_CLUSTER_VARIABLE = "KUBERNETES_SERVICE_HOST"


class AccessDeniedError(PermanentError):
    """The API server refused us (401/403): credentials or RBAC are missing."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotFoundError(PermanentError):
    """The object, or the API serving it, does not exist (404)."""

    status = 404


class GoneError(TemporaryError):
    """A resourceVersion or continue token expired (410): list from scratch."""

    status = 410


def connect(*, kubeconfig: str | None = None, context: str | None = None) -> ApiClient:
    """Build a client for the cluster we run in, or the one a kubeconfig names.

    Args:
        kubeconfig: a kubeconfig file; without it, the pod's service account
            is used inside a cluster, and `$KUBECONFIG` or `~/.kube/config`
            outside one.
        context: a context of that kubeconfig instead of its current one.
    """
    configuration = kubernetes.client.Configuration()
    in_cluster = kubeconfig is None and context is None and IN_CLUSTER_VARIABLE in os.environ
    try:
        if in_cluster:
            kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        else:
            kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
    except (kubernetes.config.ConfigException, OSError) as e:
        source = "the pod's service account" if in_cluster else (kubeconfig or "the kubeconfig")
        raise PermanentError(
            f"Cannot load cluster credentials from {source}: {e}. "
            f"Pass --kubeconfig, or run the bot in a pod with a service account."
        ) from e
    logger.debug("Connecting to the API server at %s.", configuration.host)
    return kubernetes.client.ApiClient(configuration=configuration)


def close(api: ApiClient) -> None:
    """Release the client's connection pool (and its thread pool, if any)."""
    api.close()  # type: ignore[no-untyped-call]


async def call(fn: Callable[..., T], /, *args: Any, action: str, **kwargs: Any) -> T:
    """Run one blocking client call in a worker thread, with our errors.

    `action` completes the sentence "Could not ..." in error messages, e.g.
    "read Deployment payments/api".
    """
    with translating(action):
        return await asyncio.to_thread(fn, *args, **kwargs)


async def read_json(fn: Callable[..., Any], /, *args: Any, action: str, **kwargs: Any) -> Any:
    """Like `call`, but return the response as plain JSON data.

    The client's models rename fields to snake_case and drop unknown ones; a
    manifest we show to a person must read as they wrote it, so we skip them.
    The JSON is parsed in the worker thread too: a page of events is large.
    """

    def fetch() -> Any:
        response = fn(*args, _preload_content=False, **kwargs)
        try:
            return json.loads(response.data)
        finally:
            response.release_conn()

    with translating(action):
        return await asyncio.to_thread(fetch)


@contextlib.contextmanager
def translating(action: str) -> Iterator[None]:
    """Convert the client's and urllib3's exceptions raised inside."""
    try:
        yield
    except kubernetes.client.ApiException as e:
        raise translate(e, action=action) from e
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise TemporaryError(
            f"Could not {action}: the connection to the API server failed "
            f"({type(e).__name__}). Retrying will reconnect.",
        ) from e
    except json.JSONDecodeError as e:
        raise TemporaryError(
            f"Could not {action}: the API server sent a response that is not JSON."
        ) from e


def translate(error: Any, *, action: str) -> PolicybotError:
    """Turn an `ApiException` into one of our errors (to be raised `from` it)."""
    status = int(error.status or 0)
    headers = error.headers or {}
    detail = describe_status(error.body)
    message = f"Could not {action}: HTTP {status} {error.reason or ''}".rstrip()
    if detail:
        message = f"{message}: {detail}"
    return error_for_status(status, message, retry_after=headers.get("Retry-After"))


def error_for_status(status: int, message: str, *, retry_after: Any = None) -> PolicybotError:
    """Pick our error class for an HTTP status code, adding what to do next."""
    if status in (401, 403):
        return AccessDeniedError(
            f"{message}. Check the bot's credentials and RBAC (ClusterRole rules).",
            status=status,
        )
    if status == 404:
        return NotFoundError(message)
    if status == 410:
        return GoneError(message, retry_after=0.0)
    if status == 0 or status == 429 or status >= 500:
        return TemporaryError(message, retry_after=parse_retry_after(retry_after))
    return PermanentError(message)


def describe_status(body: Any) -> str:
    """The message of a Kubernetes `Status` body, cut short; "" for anything else."""
    if isinstance(body, bytes | bytearray):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return ""
    if not isinstance(body, dict) or body.get("kind") != "Status":
        return ""
    return cut(str(body.get("message") or body.get("reason") or ""))


def cut(text: str, limit: int = BODY_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_retry_after(value: Any) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None  # an HTTP date: rare from the API server; our backoff decides
