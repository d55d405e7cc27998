"""Container image references, normalised the way `image_normalize` does it.

Kyverno prefixes a registry when the first path part does not look like a
host (no `.` or `:`, not `localhost`, all lower case), parses the result with
the `distribution/reference` grammar, and prints it with `:latest` added when
neither tag nor digest is given. It does not add `library/`, so `nginx`
becomes `docker.io/nginx:latest`. The default registry is Kyverno's default,
`docker.io`, with registry mutation enabled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_REGISTRY = "docker.io"

_ALPHANUMERIC = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALPHANUMERIC}(?:{_SEPARATOR}{_ALPHANUMERIC})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])"
_DOMAIN = rf"{_HOST}(?::[0-9]+)?"
_NAME = rf"(?:(?P<domain>{_DOMAIN})/)?(?P<path>{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*)"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::(?P<tag>{_TAG}))?(?:@(?P<digest>{_DIGEST}))?")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_NAME_LIMIT = 255


class ImageError(ValueError):
    """An image reference that Kyverno cannot parse; the text is Kyverno's."""


@dataclass(frozen=True)
class ImageReference:
    registry: str
    path: str
    tag: str
    digest: str

    def __str__(self) -> str:
        image = f"{self.registry}/{self.path}" if self.registry else self.path
        return f"{image}@{self.digest}" if self.digest else f"{image}:{self.tag}"


def normalize(image: str, *, default_registry: str = DEFAULT_REGISTRY) -> ImageReference:
    """Parse `image` as Kyverno's `GetImageInfo` does."""
    full_name = _add_default_registry(image, default_registry)
    try:
        registry, path, tag, digest = _parse(full_name)
    except ImageError as error:
        raise ImageError(
            f"bad image: {full_name}, defaultRegistry: {default_registry}, "
            f"enableDefaultRegistryMutation: true: {error}"
        ) from error
    if not digest and not tag:
        tag = "latest"
    return ImageReference(registry, path, tag, digest)


def _add_default_registry(name: str, default_registry: str) -> str:
    first, slash, _ = name.partition("/")
    looks_like_host = (
        any(char in first for char in ".:") or first == "localhost" or first.lower() != first
    )
    if not slash or not looks_like_host:
        return f"{default_registry}/{name}"
    return name


def _parse(reference: str) -> tuple[str, str, str, str]:
    """The `distribution/reference` grammar, with its error texts."""
    match = _REFERENCE.fullmatch(reference)
    if match is None:
        if not reference:
            raise ImageError("repository name must have at least one component")
        if _REFERENCE.fullmatch(reference.lower()):
            raise ImageError("invalid reference format: repository name must be lowercase")
        raise ImageError("invalid reference format")
    if len(match.group("name")) > _NAME_LIMIT:
        raise ImageError(f"repository name must not be more than {_NAME_LIMIT} characters")

    digest = match.group("digest") or ""
    if digest:
        algorithm, _, encoded = digest.partition(":")
        expected = _DIGEST_LENGTHS.get(algorithm)
        if expected is None:
            raise ImageError("unsupported digest algorithm")
        if len(encoded) != expected:
            raise ImageError("invalid checksum digest length")
        if not re.fullmatch(r"[a-f0-9]+", encoded):
            raise ImageError("invalid checksum digest format")
    return match.group("domain") or "", match.group("path"), match.group("tag") or "", digest
