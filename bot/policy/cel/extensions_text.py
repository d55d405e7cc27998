"""Text functions from the Kubernetes regex and URL libraries.

The CEL library already brings the strings extension (`lowerAscii`, `split`,
`format`...) and `matches`; Kubernetes adds `find` and `findAll` for regular
expressions and a URL type. Like Kubernetes, a URL must be absolute or an
absolute path; we carry it as its own text, so `url(x)` validates and the
accessors parse again.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import SplitResult, parse_qs, quote, urlsplit

from bot.policy.cel.signatures import Function, FunctionError, Overload, function, member


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise FunctionError(f"invalid regular expression {pattern!r}: {error}") from None


def find(text: str, pattern: str) -> str:
    match = _compiled(pattern).search(text)
    return match.group(0) if match else ""


def find_all(text: str, pattern: str, limit: int = -1) -> list[str]:
    found = [match.group(0) for match in _compiled(pattern).finditer(text)]
    return found if limit < 0 else found[:limit]


def url(text: str) -> str:
    _parse_url(text)
    return text


def is_url(text: str) -> bool:
    try:
        _parse_url(text)
    except FunctionError:
        return False
    return True


def get_scheme(text: str) -> str:
    return _parse_url(text).scheme


def get_host(text: str) -> str:
    return _parse_url(text).netloc.rpartition("@")[2]


def get_hostname(text: str) -> str:
    return _parse_url(text).hostname or ""


def get_port(text: str) -> str:
    host = get_host(text)
    if host.startswith("["):
        _, _, rest = host.partition("]")
        return rest[1:] if rest.startswith(":") else ""
    return host.rpartition(":")[2] if ":" in host else ""


def get_escaped_path(text: str) -> str:
    return quote(_parse_url(text).path, safe="/:@!$&'()*+,;=-._~%")


def get_query(text: str) -> dict[str, list[str]]:
    return parse_qs(_parse_url(text).query, keep_blank_values=True)


def functions() -> list[Function]:
    find_all_overloads = Function(
        "findAll",
        (
            Overload(("string", "string"), "list", find_all, member=True),
            Overload(("string", "string", "int"), "list", find_all, member=True),
        ),
    )
    return [
        member("find", ("string", "string"), "string", find),
        find_all_overloads,
        function("url", ("string",), "string", url),
        function("isURL", ("string",), "bool", is_url),
        member("getScheme", ("string",), "string", get_scheme),
        member("getHost", ("string",), "string", get_host),
        member("getHostname", ("string",), "string", get_hostname),
        member("getPort", ("string",), "string", get_port),
        member("getEscapedPath", ("string",), "string", get_escaped_path),
        member("getQuery", ("string",), "map", get_query),
    ]


def _parse_url(text: str) -> SplitResult:
    parts = urlsplit(text)
    # NB: Go's ParseRequestURI, which Kubernetes uses, wants a scheme or an
    # absolute path, and rejects fragments.
    if "#" in text or not (parts.scheme or text.startswith("/")):
        raise FunctionError(f"URL parse error: {text!r} is not an absolute URI or path")
    return parts
