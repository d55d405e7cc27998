"""The Kubernetes IP and CIDR libraries: `ip("10.0.0.1").family()`, `cidr(...)`.

Addresses and prefixes travel through CEL as their text, which `ip(x)` and
`cidr(x)` validate the Kubernetes way: no zone, no IPv4-mapped IPv6, and a
CIDR written with its prefix length.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from bot.policy.cel.signatures import Function, FunctionError, Overload, function, member

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ip(text: str) -> Address:
    if "%" in text:
        raise FunctionError(f"IP address {text!r} with a zone is not allowed")
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise FunctionError(f"{text!r} is not an IP address") from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise FunctionError(f"IPv4-mapped IPv6 address {text!r} is not allowed")
    return address


def parse_cidr(text: str) -> Network:
    if "/" not in text:
        raise FunctionError(f"{text!r} is not a CIDR like 10.0.0.0/8")
    address, _, _ = text.partition("/")
    parse_ip(address)
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise FunctionError(f"{text!r} is not a CIDR like 10.0.0.0/8") from None


def _valid(parse: Callable[[str], object], text: str) -> bool:
    try:
        parse(text)
    except FunctionError:
        return False
    return True


def contains_ip(network: str, address: str) -> bool:
    return parse_ip(address) in parse_cidr(network)


def contains_cidr(network: str, other: str) -> bool:
    outer, inner = parse_cidr(network), parse_cidr(other)
    return inner.version == outer.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def functions() -> list[Function]:
    ip = Function(
        "ip",
        (
            Overload(("string",), "string", lambda text: str(parse_ip(text))),
            # The address part of a CIDR, as in `cidr("10.0.0.0/8").ip()`.
            Overload(("string",), "string", lambda text: text.partition("/")[0], member=True),
        ),
    )
    return [
        ip,
        function("isIP", ("string",), "bool", lambda text: _valid(parse_ip, text)),
        function("ip.isCanonical", ("string",), "bool", lambda t: str(parse_ip(t)) == t),
        member("family", ("string",), "int", lambda text: parse_ip(text).version),
        member("isUnspecified", ("string",), "bool", lambda t: parse_ip(t).is_unspecified),
        member("isLoopback", ("string",), "bool", lambda t: parse_ip(t).is_loopback),
        member("isLinkLocalMulticast", ("string",), "bool", _is_link_local_multicast),
        member("isLinkLocalUnicast", ("string",), "bool", lambda t: parse_ip(t).is_link_local),
        member("isGlobalUnicast", ("string",), "bool", _is_global_unicast),
        function("cidr", ("string",), "string", lambda text: _checked_cidr(text)),
        function("isCIDR", ("string",), "bool", lambda text: _valid(parse_cidr, text)),
        member("containsIP", ("string", "string"), "bool", contains_ip),
        member("containsCIDR", ("string", "string"), "bool", contains_cidr),
        member("prefixLength", ("string",), "int", lambda t: parse_cidr(t).prefixlen),
        member("masked", ("string",), "string", lambda t: str(parse_cidr(t))),
    ]


def _checked_cidr(text: str) -> str:
    parse_cidr(text)
    return text


def _is_link_local_multicast(text: str) -> bool:
    address = parse_ip(text)
    if isinstance(address, ipaddress.IPv4Address):
        return address in ipaddress.ip_network("224.0.0.0/24")
    return address.is_multicast and (address.packed[1] & 0x0F) == 0x02


def _is_global_unicast(text: str) -> bool:
    # Go's definition: not unspecified, loopback, multicast, link-local or
    # the IPv4 broadcast address; private ranges still count as global.
    address = parse_ip(text)
    if address == ipaddress.ip_address("255.255.255.255"):
        return False
    return not (
        address.is_unspecified
        or address.is_loopback
        or address.is_multicast
        or address.is_link_local
    )
