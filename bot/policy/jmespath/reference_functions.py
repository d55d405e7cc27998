"""Kyverno's functions about references: images, URLs and versions.

image_normalize and semver_compare follow Kyverno exactly. is_external_url
is partial on purpose: Kyverno resolves host names through the cluster's
DNS, and answering from the bot's own network would explain a rejection with
facts the cluster never saw. IP literals and `localhost` need no resolver and
are answered; any other host name raises an error that says why.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from bot.policy.jmespath import images, semver
from bot.policy.jmespath.errors import FunctionError
from bot.policy.jmespath.signatures import STRING, signature

# Go's net.IP.IsPrivate and IsLoopback, which are narrower than Python's
# `is_private` (that one also counts link-local and documentation ranges).
_INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "fc00::/7",
        "::1/128",
    )
)


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _INTERNAL_NETWORKS)


class ReferenceFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(STRING)
    def _func_image_normalize(self, image: str) -> str:
        try:
            return str(images.normalize(image))
        except images.ImageError as error:
            raise FunctionError("image_normalize", str(error)) from None

    @signature(STRING, STRING)
    def _func_semver_compare(self, version: str, constraint: str) -> bool:
        # NB: Kyverno ignores a version that fails to parse and compares 0.0.0.
        try:
            parsed = semver.parse_version(version)
        except semver.SemverError:
            parsed = semver.Version()
        try:
            matches = semver.parse_range(constraint)
        except semver.SemverError as error:
            raise FunctionError("semver_compare", str(error)) from None
        return matches(parsed)

    @signature(STRING)
    def _func_is_external_url(self, url: str) -> bool:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError as error:
            raise FunctionError("is_external_url", f"parse {url!r}: {error}") from None
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and "%" not in host:
            return not _is_internal(address)
        if host == "localhost" or host.endswith(".localhost"):
            return False
        raise FunctionError(
            "is_external_url",
            f"cannot tell whether {host!r} is external: that needs the cluster's DNS, "
            "which Policybot does not query",
        )
