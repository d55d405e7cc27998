"""The recorded stream the demo replays, and the cluster it happened in.

A stream file lists what the bot received one morning (see
`data/stream.yaml` for the format): each item is a payload exactly as a
source would deliver it, with its time and, for repeats, how often and how
far apart it came again. `expand` turns the file into the arrivals the
handler sees, in time order.

The cluster file is a `kind: List` of the Namespaces and workloads behind
the rejections. `BundledCluster` answers the two questions the handler asks
a real cluster (what owns this object, what labels does this namespace
carry) from that list, so the demo walks owner chains without a cluster.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.errors import InputError, PermanentError

Source = Literal["events", "audit", "reports", "kubectl"]

_DURATION = re.compile(r"(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?")


def _check_duration(value: str) -> str:
    match = _DURATION.fullmatch(value)
    if not value or match is None:
        raise ValueError(f'must be minutes and seconds such as "90s" or "2m30s", got {value!r}')
    return value


Duration = Annotated[str, AfterValidator(_check_duration)]


class Item(BaseModel):
    """One payload as a source delivered it."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    at: datetime.time
    """When it first arrived, UTC, on the stream's date."""

    source: Source
    """Who delivered it: the Event watch, the audit webhook, a report, or a person."""

    payload: str | dict[str, Any]
    """The text, or the decoded object."""

    repeat: int = Field(default=1, ge=1, le=1000)
    """How many times it arrived in all."""

    every: Duration = "30s"
    """The time between two arrivals of a repeated payload."""

    involved: dict[str, Any] | None = None
    """The object it hangs on, where the payload itself does not say."""


class StreamFile(BaseModel):
    """A whole stream file."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    date: datetime.date
    items: tuple[Item, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Arrival:
    """One delivery of a payload, at its moment."""

    at: datetime.datetime
    source: Source
    payload: str | Mapping[str, Any]
    involved: Mapping[str, Any] | None


def data_path(name: str) -> Path:
    """A file shipped with the demo."""
    return Path(str(resources.files("bot.demo").joinpath("data", name)))


def load_stream(path: Path) -> StreamFile:
    """Read and check a stream file.

    Raises:
        InputError: naming the file and the field at fault.
    """
    data = _read_yaml(path)
    try:
        return StreamFile.model_validate(data)
    except pydantic.ValidationError as error:
        problem = error.errors(include_url=False, include_context=False)[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise InputError(problem["msg"], source=str(path), field=where) from None


def expand(stream: StreamFile) -> list[Arrival]:
    """Every arrival of every item, in time order (the file's order on ties)."""
    arrivals: list[tuple[datetime.datetime, int, Arrival]] = []
    for index, item in enumerate(stream.items):
        first = datetime.datetime.combine(stream.date, item.at, tzinfo=datetime.UTC)
        gap = _seconds(item.every)
        for number in range(item.repeat):
            at = first + datetime.timedelta(seconds=gap * number)
            involved = item.involved or _involved_object(item.payload)
            arrivals.append((at, index, Arrival(at, item.source, item.payload, involved)))
    return [arrival for _, _, arrival in sorted(arrivals, key=lambda entry: entry[:2])]


class BundledCluster:
    """Owner chains and Namespaces from a list of objects, as a cluster would answer."""

    def __init__(self, objects: Sequence[Mapping[str, Any]]) -> None:
        self._objects = {_identity(obj): obj for obj in objects}

    @classmethod
    def load(cls, path: Path) -> BundledCluster:
        data = _read_yaml(path)
        items = data.get("items") if isinstance(data, Mapping) else None
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise InputError("must be a `kind: List` whose `items` are objects", source=str(path))
        return cls(items)

    async def find_top_manifest(
        self, *, api_version: str, kind: str, namespace: str, name: str
    ) -> Mapping[str, Any]:
        """The object at the top of the controller chain above the one named."""
        current = self._get(kind, namespace, name)
        for _ in range(8):
            owner = _controller_of(current)
            if owner is None:
                break
            parent = self._objects.get((str(owner.get("kind")), namespace, str(owner.get("name"))))
            if parent is None:
                break
            current = parent
        return current

    async def read_namespace(self, name: str) -> Mapping[str, Any] | None:
        return self._objects.get(("Namespace", "", name))

    def _get(self, kind: str, namespace: str, name: str) -> Mapping[str, Any]:
        found = self._objects.get((kind, namespace, name))
        if found is None:
            raise PermanentError(f"{kind} {namespace}/{name} is not in the demo's cluster.")
        return found


def _identity(obj: Mapping[str, Any]) -> tuple[str, str, str]:
    metadata = obj.get("metadata") or {}
    namespace = "" if obj.get("kind") == "Namespace" else str(metadata.get("namespace") or "")
    return str(obj.get("kind") or ""), namespace, str(metadata.get("name") or "")


def _controller_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for reference in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(reference, Mapping) and reference.get("controller") is True:
            return reference
    return None


def _involved_object(payload: str | Mapping[str, Any]) -> Mapping[str, Any] | None:
    """An Event's involvedObject, as the watch hands it on with the Event."""
    if not isinstance(payload, Mapping) or payload.get("kind") != "Event":
        return None
    involved = payload.get("involvedObject")
    return involved if isinstance(involved, Mapping) else None


def _seconds(duration: str) -> int:
    match = _DURATION.fullmatch(duration)
    assert match is not None  # checked when the file was read
    return int(match["m"] or 0) * 60 + int(match["s"] or 0)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(f"cannot read: {error.strerror or error}", source=str(path)) from None
    except yaml.YAMLError as error:
        raise InputError(f"not valid YAML: {error}", source=str(path)) from None
