"""The cluster layer: the only package that imports `kubernetes`.

`clients` connects and converts the client's failures into `bot.errors`;
`context_resolver` reads ConfigMaps and API calls for policy contexts;
`platform_defaults` reads the LimitRanges and default StorageClass that fixes
may copy values from;
`watching` follows core/v1 Events and hands on admission rejections once
each; `owners` walks ownerReferences up to the workload a team wrote. The
official client blocks, so every call here runs in a worker thread and the
rest of the bot only ever awaits.
"""

from __future__ import annotations

from bot.kube.clients import AccessDeniedError, GoneError, NotFoundError, close, connect
from bot.kube.context_resolver import ClusterContextResolver
from bot.kube.owners import ObjectRef, OwnerResolver, Workload
from bot.kube.platform_defaults import ClusterDefaults
from bot.kube.watching import EventWatcher, Rejection, WatchSettings, WatchStats

__all__ = [
    "AccessDeniedError",
    "ClusterContextResolver",
    "ClusterDefaults",
    "EventWatcher",
    "GoneError",
    "NotFoundError",
    "ObjectRef",
    "OwnerResolver",
    "Rejection",
    "WatchSettings",
    "WatchStats",
    "Workload",
    "close",
    "connect",
]
