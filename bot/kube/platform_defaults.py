"""The platform's defaults as the cluster has them: LimitRanges and StorageClasses.

`bot.policy.fixes.platform_defaults` turns LimitRange and StorageClass
objects into values a fix may write where a rule only wants a field set. The
knowledge base ships such objects (`knowledge/platform`), but the cluster has
the real ones. `ClusterDefaults` reads them for the namespace of the manifest
being fixed and puts them in front of the knowledge base's: the namespace's
own LimitRanges first, since they are what the API server would apply, then
the knowledge base's; the cluster's default StorageClass, when it marks one,
instead of the knowledge base's.

It blocks, like `context_resolver`: `Judge.check` calls it from the worker
thread it already runs in. Never call it on the event loop.

The cluster is the better source, never a required one. A read that fails
(no RBAC, an API server that is away or slow) leaves the knowledge base's
defaults in force, logs one warning saying what to grant or check, and is
never raised: a check with a less specific fix beats no answer. Answers,
failures included, are kept for a short TTL, so a burst of checks reads each
namespace once and a failing API server is not asked on every check.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import kubernetes
from kubernetes.client import ApiClient

from bot.errors import PermanentError, PolicybotError
from bot.kube import clients
from bot.kube.answers import Answers
from bot.policy.fixes import platform_defaults
from bot.policy.fixes.platform_defaults import PlatformDefaults

logger = logging.getLogger(__name__)

MAX_WARNED = 512
"""Failing reads remembered at most, so each is warned of once."""

RBAC_HINT = (
    "grant the bot `list` on `limitranges` (core API group; in every namespace it checks) "
    "and `storageclasses` (storage.k8s.io, cluster-wide) in its ClusterRole, or set "
    "fix_defaults.cluster to false"
)

# NB: a pasted manifest may name any namespace; one that Kubernetes would
# refuse is not worth a request.
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")

_Objects = list[dict[str, Any]]


class ClusterDefaults:
    """Platform defaults for one namespace: the cluster's, then the knowledge base's.

    Thread-safe and blocking; see the module docstring.

    Args:
        api: the client from `bot.kube.clients.connect`.
        fallback: the knowledge base's defaults; they come after the
            cluster's, and stand alone when the cluster cannot be read.
        timeout: seconds for each attempt of a request. NB: urllib3 tries a
            timed-out read up to four times, so a hung API server costs the
            first check of each TTL up to 8 s per read; lists this small come
            back well within one.
        cache_ttl: seconds an answer (or a failure) is reused; 0 turns the
            cache off.
        clock: monotonic seconds, replaceable in tests.
    """

    def __init__(
        self,
        api: ApiClient,
        *,
        fallback: PlatformDefaults = platform_defaults.NO_DEFAULTS,
        timeout: float = 2.0,
        cache_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._core = kubernetes.client.CoreV1Api(api)
        self._storage = kubernetes.client.StorageV1Api(api)
        self._fallback = fallback
        self._timeout = timeout
        self._answers: Answers[str, _Objects | None] = Answers(cache_ttl, clock)
        self._lock = threading.Lock()
        self._warned: set[str] = set()

    def for_namespace(self, namespace: str) -> PlatformDefaults:
        """The defaults a fix for a manifest in `namespace` may use; never raises."""
        if not _NAMESPACE.fullmatch(namespace):
            logger.debug("Not reading the defaults of %r: not a namespace name.", namespace)
            return self._fallback

        # Both reads, each from the cache or the cluster; None when it failed.
        failures: list[PolicybotError] = []
        limit_ranges = self._objects(
            f"limitranges/{namespace}",
            lambda: self._list_limit_ranges(namespace),
            action=f"list LimitRanges in namespace {namespace}",
            failures=failures,
        )
        storage_classes = self._objects(
            "storageclasses",
            self._list_storage_classes,
            action="list StorageClasses",
            failures=failures,
        )
        if failures:
            self._warn(namespace, failures)

        found = platform_defaults.from_objects([*(limit_ranges or ()), *(storage_classes or ())])
        return merged(found, self._fallback)

    # -- the reads ---------------------------------------------------------------

    def _list_limit_ranges(self, namespace: str) -> _Objects:
        listed = self._core.list_namespaced_limit_range(namespace, _request_timeout=self._timeout)
        return self._plain(listed.items, kind="LimitRange")

    def _list_storage_classes(self) -> _Objects:
        listed = self._storage.list_storage_class(_request_timeout=self._timeout)
        return self._plain(listed.items, kind="StorageClass")

    def _plain(self, items: list[Any], *, kind: str) -> _Objects:
        # NB: items of a list come without kind, which from_objects goes by.
        to_json = self._api.sanitize_for_serialization
        plain = [to_json(item) for item in items]  # type: ignore[no-untyped-call]
        return [{**item, "kind": kind} for item in plain if isinstance(item, dict)]

    def _objects(
        self,
        key: str,
        read: Callable[[], _Objects],
        *,
        action: str,
        failures: list[PolicybotError],
    ) -> _Objects | None:
        """The cached answer for `key`, or a fresh read (None if it failed)."""
        cached, answer = self._answers.get(key)
        if cached:
            return answer

        found: _Objects | None = None
        error: PolicybotError | None = None
        try:
            with clients.translating(action):
                found = read()
        except PolicybotError as translated:
            error = translated
        except Exception as unexpected:
            # NB: a response the client cannot read as the kind it expects
            # (a proxy's page, a newer server) must not cost the user the check.
            error = PermanentError(
                f"Could not {action}: the client could not read the answer "
                f"({type(unexpected).__name__}: {clients.cut(str(unexpected))})."
            )

        if error is None:
            self._recovered(key, action)
        elif self._first_failure(key):
            failures.append(error)
        else:
            logger.debug("Still cannot %s: %s", action, error)
        self._answers.put(key, found)
        return found

    # -- the cache and the warnings ------------------------------------------------

    def _warn(self, namespace: str, failures: list[PolicybotError]) -> None:
        """One warning for the failed reads of one check, with what to do next."""
        if any(isinstance(error, clients.AccessDeniedError) for error in failures):
            remedy = RBAC_HINT
        elif all(isinstance(error, clients.NotFoundError) for error in failures):
            remedy = "this API server does not serve the list; set fix_defaults.cluster to false"
        else:
            remedy = (
                "check that the bot reaches the API server (/readyz shows it); "
                f"the next check after {self._answers.ttl:g}s reads again"
            )
        logger.warning(
            "Cannot read the platform defaults for namespace %s from the cluster; fixes use "
            "only those of the knowledge base (knowledge/platform, fix_defaults.paths). %s. "
            "To fix: %s.",
            namespace,
            "; ".join(str(error).rstrip(".") for error in failures),
            remedy,
        )

    def _first_failure(self, key: str) -> bool:
        """Whether this read failed for the first time since it last worked.

        A missing permission fails every read until someone grants it; one
        warning says so, the repeats go to the debug log.
        """
        with self._lock:
            if len(self._warned) >= MAX_WARNED:
                self._warned.clear()  # at worst, a failure is warned of twice
            first = key not in self._warned
            self._warned.add(key)
        return first

    def _recovered(self, key: str, action: str) -> None:
        with self._lock:
            warned = key in self._warned
            self._warned.discard(key)
        if warned:
            logger.info("Could %s again; fixes use the cluster's defaults.", action)


def merged(first: PlatformDefaults, then: PlatformDefaults) -> PlatformDefaults:
    """`first` in front of `then`: LimitRanges in that order, and `first`'s
    default StorageClass when it has one."""
    chosen = first if first.storage_class else then
    return PlatformDefaults(
        containers=(*first.containers, *then.containers),
        storage_class=chosen.storage_class,
        storage_class_source=chosen.storage_class_source,
        sources=(*first.sources, *then.sources),
    )
