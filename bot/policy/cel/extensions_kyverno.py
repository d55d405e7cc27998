"""Kyverno's own CEL libraries, answered from `Lookups` instead of a cluster.

Kyverno declares `resource`, `image`, `globalContext` and `http` as
variables whose methods reach the cluster, registries or the network. We
declare them as string variables holding their own name, so `resource.Get`
is a method call on a string that the function here recognises, and answer
from the current `Lookups`, as the Kyverno CLI answers from a Context file.
HTTP calls are refused with a clear error: a check never leaves the machine.

Also here: image references (`parseImageReference`, `image(...)` and their
accessors), `parseServiceAccount` and `time.now`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.policy import resources
from bot.policy.cel import lookups
from bot.policy.cel.signatures import Function, FunctionError, Overload, function, member

RESOURCE, IMAGE, GLOBAL_CONTEXT, HTTP = "resource", "image", "globalContext", "http"
VARIABLES = (RESOURCE, IMAGE, GLOBAL_CONTEXT, HTTP)
"""String variables that stand for Kyverno's context objects."""

_DEFAULT_REGISTRY = "index.docker.io"
_REPOSITORY_PART = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class ImageReference:
    registry: str
    repository: str
    tag: str
    digest: str

    @property
    def identifier(self) -> str:
        return self.digest or self.tag


def parse_image(text: str) -> ImageReference:
    """Read an image reference the way go-containerregistry's ParseReference does."""
    name, digest = text, ""
    if "@" in text:
        name, _, digest = text.partition("@")
        if not _DIGEST.fullmatch(digest):
            raise FunctionError(f"image {text!r} has an invalid digest {digest!r}")
    tag = ""
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise FunctionError(f"image {text!r} has an invalid tag {tag!r}")
    registry, repository = _split_registry(name)
    if not repository or not all(_REPOSITORY_PART.fullmatch(p) for p in repository.split("/")):
        raise FunctionError(f"image {text!r} has an invalid repository {repository!r}")
    if digest:
        # NB: a digest reference keeps no tag, as in go-containerregistry.
        return ImageReference(registry, repository, "", digest)
    return ImageReference(registry, repository, tag or "latest", "")


def get_resource(receiver: str, api_version: str, resource: str, namespace: str, name: str) -> Any:
    _expect(receiver, RESOURCE, "Get")
    for obj in lookups.current().find(api_version, resource, namespace):
        if resources.name_of(obj) == name:
            return dict(obj)
    raise FunctionError(f'{_group_resource(api_version, resource)} "{name}" not found')


def list_resources(
    receiver: str,
    api_version: str,
    resource: str,
    namespace: str,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    _expect(receiver, RESOURCE, "List")
    found = lookups.current().find(api_version, resource, namespace)
    if labels:
        found = [o for o in found if _has_labels(resources.labels_of(o), labels)]
    return {"apiVersion": api_version, "kind": "List", "metadata": {}, "items": found}


def get_image_metadata(receiver: str, reference: str) -> Any:
    _expect(receiver, IMAGE, "GetMetadata")
    data = lookups.current().images.get(reference)
    if data is None:
        raise FunctionError(
            f"image data for {reference} not found in the context; "
            "offline checks read image metadata from the test's context file"
        )
    return dict(data)


def get_global(receiver: str, name: str, projection: str = "") -> Any:
    if receiver == HTTP:
        _refuse_http()
    _expect(receiver, GLOBAL_CONTEXT, "Get")
    data = lookups.current().global_context.get(name)
    if not projection or data is None:
        return data
    if isinstance(data, Mapping) and projection in data:
        return data[projection]
    raise FunctionError(f"projection {projection!r} not found in global context entry {name!r}")


def parse_service_account(username: str) -> dict[str, str]:
    account = {"Namespace": "", "Name": ""}
    if username.startswith(_SERVICE_ACCOUNT_PREFIX):
        namespace, sep, name = username[len(_SERVICE_ACCOUNT_PREFIX) :].partition(":")
        if sep:
            account = {"Namespace": namespace, "Name": name}
    return account


def now() -> datetime:
    return lookups.current().now or datetime.now(UTC)


_GET_RESOURCE = Overload(("string",) * 5, "map", get_resource, member=True)
_LIST_RESOURCES = (
    Overload(("string",) * 4, "map", list_resources, member=True),
    Overload(("string",) * 4 + ("map",), "map", list_resources, member=True),
)
_GET_METADATA = Overload(("string", "string"), "dyn", get_image_metadata, member=True)


def functions() -> list[Function]:
    get = Function(
        "Get",
        (
            _GET_RESOURCE,
            Overload(("string",) * 3, "dyn", get_global, member=True),
            Overload(("string", "string"), "dyn", _http_call, member=True),
            Overload(("string", "string", "map"), "dyn", _http_call, member=True),
        ),
    )
    post = Function(
        "Post",
        (
            Overload(("string", "string", "dyn"), "dyn", _http_call, member=True),
            Overload(("string", "string", "dyn", "dyn"), "dyn", _http_call, member=True),
        ),
    )
    return [
        get,
        Function("List", _LIST_RESOURCES),
        post,
        member("Client", ("string", "string"), "string", _http_call),
        Function("GetMetadata", (_GET_METADATA,)),
        # Kyverno 1.18 added lower camel case names beside the Go-style ones.
        Function("get", (_GET_RESOURCE,)),
        Function("list", _LIST_RESOURCES),
        Function("getMetadata", (_GET_METADATA,)),
        function("image", ("string",), "string", _checked_image),
        function("parseImageReference", ("string",), "string", _checked_image),
        function("isImage", ("string",), "bool", _is_image),
        member("registry", ("string",), "string", lambda t: parse_image(t).registry),
        member("repository", ("string",), "string", lambda t: parse_image(t).repository),
        member("identifier", ("string",), "string", lambda t: parse_image(t).identifier),
        member("tag", ("string",), "string", lambda t: parse_image(t).tag),
        member("digest", ("string",), "string", lambda t: parse_image(t).digest),
        member("containsDigest", ("string",), "bool", lambda t: bool(parse_image(t).digest)),
        function("parseServiceAccount", ("string",), "map", parse_service_account),
        function("time.now", (), "timestamp", now),
        function("time.truncate", ("timestamp", "duration"), "timestamp", _truncate),
        function("time.toCron", ("timestamp",), "string", _to_cron),
    ]


def _checked_image(text: str) -> str:
    parse_image(text)
    return text


def _is_image(text: str) -> bool:
    try:
        parse_image(text)
    except FunctionError:
        return False
    return True


def _split_registry(name: str) -> tuple[str, str]:
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first, rest
    if first in ("docker.io", "index.docker.io"):
        return _DEFAULT_REGISTRY, rest
    # Docker Hub images with one path part live under library/.
    return _DEFAULT_REGISTRY, name if "/" in name else f"library/{name}"


def _group_resource(api_version: str, resource: str) -> str:
    group = api_version.rpartition("/")[0]
    return f"{resource}.{group}" if group else resource


def _has_labels(labels: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in wanted.items())


def _expect(receiver: str, expected: str, method: str) -> None:
    if receiver == HTTP:
        _refuse_http()
    if receiver != expected:
        raise FunctionError(f"{method}() is a method of {expected}, not of {receiver!r}")


def _http_call(receiver: str, *_: Any) -> Any:
    if receiver == HTTP:
        _refuse_http()
    raise FunctionError(f"this method is a method of http, not of {receiver!r}")


def _refuse_http() -> None:
    raise FunctionError("http calls are not made by offline checks; the policy needs a cluster")


def _truncate(moment: datetime, step: timedelta) -> datetime:
    if step <= timedelta():
        return moment
    epoch = datetime(1, 1, 1, tzinfo=moment.tzinfo or UTC)
    return moment - (moment - epoch) % step


def _to_cron(moment: datetime) -> str:
    # Go's Weekday counts from Sunday as 0.
    weekday = (moment.weekday() + 1) % 7
    return f"{moment.minute} {moment.hour} {moment.day} {moment.month} {weekday}"
