"""The data a rule's variables are evaluated against, Kyverno-style.

Kyverno builds one JSON document per request (`request.object`,
`request.operation`, `request.userInfo`, `serviceAccountName`, `images`, ...)
and lets rules add to it: values from a test's values file, and `context`
entries (`variable`, `configMap`, `apiCall`, ...). This module builds that
document and answers queries on it. The engine does no I/O: data that lives
in a cluster (ConfigMaps, API calls) comes through a resolver the caller
passes in, and without one such entries stay unset, as in the Kyverno CLI.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.errors import PolicybotError
from bot.policy import variables
from bot.policy.requests import AdmissionRequest

# NB: bot.policy.jmespath is imported where it is used, not here: loading it
# takes longer than checking a file against pattern-only policies, and those
# never evaluate an expression.

logger = logging.getLogger(__name__)

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


class ContextResolver(Protocol):
    """Reads cluster data for `configMap` and `apiCall` context entries.

    Either method may raise a `bot.errors.PolicybotError`; the entry then
    fails, and so does every rule expression that uses it.
    """

    def config_map(self, name: str, namespace: str) -> Mapping[str, Any] | None: ...

    def api_call(self, call: Mapping[str, Any]) -> Any: ...


class ContextError(Exception):
    """A context entry could not be loaded; Kyverno reports the rule as error."""


class EvaluationContext:
    """The JSON document variables are resolved in, plus failed entries."""

    def __init__(
        self,
        data: dict[str, Any],
        *,
        deleting: bool = False,
        image_source: Mapping[str, Any] | None = None,
    ) -> None:
        # NB: data shares the request's objects instead of copying them; every
        # change goes through set_variable, which copies the maps it edits.
        self._data: dict[str, Any] | None = data
        self._request: AdmissionRequest | None = None
        self.deleting = deleting
        self._failed: dict[str, str] = {}
        self._image_source = image_source

    @classmethod
    def for_request(cls, request: AdmissionRequest) -> EvaluationContext:
        deleting = request.operation == "DELETE"
        context = cls({}, deleting=deleting, image_source=request.subject)
        # The document is built on first use: most pattern rules never read
        # a variable, and the request it comes from cannot change meanwhile.
        context._data = None
        context._request = request
        return context

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            assert self._request is not None  # for_request sets one of the two
            self._data = _document_for(self._request)
        return self._data

    @property
    def request_object(self) -> Mapping[str, Any] | None:
        """request.object as values may have rewritten it."""
        if self._data is None and self._request is not None:
            # Not built yet, so nothing has rewritten it: read the request.
            request = self._request
            found: Any = None if request.operation == "DELETE" else request.object
        else:
            found = self.data.get("request", {}).get("object")
        return found if isinstance(found, Mapping) else None

    def copy(self) -> EvaluationContext:
        clone = EvaluationContext(
            dict(self.data), deleting=self.deleting, image_source=self._image_source
        )
        clone._failed = dict(self._failed)
        return clone

    def query(self, expression: str) -> Any:
        from bot.policy import jmespath

        expression = expression.strip()
        # Parsing every image costs; only requests that ask for them pay.
        if self._image_source is not None and "images" in expression:
            images = images_of(self._image_source)
            if images and "images" not in self.data:
                self.data["images"] = images
            self._image_source = None
        for name, reason in self._failed.items():
            if re.search(rf"(?<![\w.]){re.escape(name)}\b", expression):
                raise ContextError(reason)
        return jmespath.search(expression, self.data, missing_key_errors=True)

    def substitute(self, document: Any, *, path: Sequence[str | int] = ()) -> Any:
        return variables.substitute(document, self.query, path=path, deleting=self.deleting)

    def set_variable(self, dotted_key: str, value: Any) -> None:
        """Set a value at a dotted path; quoted segments may contain dots."""
        keys = next(csv.reader([dotted_key], delimiter=".", quotechar='"'))
        target = self.data
        for key in keys[:-1]:
            inner = target.get(key)
            inner = dict(inner) if isinstance(inner, Mapping) else {}
            target[key] = inner
            target = inner
        # NB: as Kyverno's AddVariable, a map merges into the map already there.
        existing = target.get(keys[-1])
        if isinstance(existing, Mapping) and isinstance(value, Mapping):
            value = _merged(existing, value)
        target[keys[-1]] = value

    def add_element(self, element: Any, index: int, nesting: int) -> None:
        self.data.update(
            {
                "element": element,
                f"element{nesting}": element,
                "elementIndex": index,
                f"elementIndex{nesting}": index,
            }
        )

    def load_entries(
        self,
        entries: Sequence[Mapping[str, Any]],
        *,
        resolver: ContextResolver | None = None,
        preset: frozenset[str] = frozenset(),
    ) -> None:
        """Evaluate `context` entries in order.

        An entry that fails is remembered rather than raised: Kyverno loads
        entries lazily, so the failure only matters to an expression that
        uses it. Entries whose name the caller already set (a test's values)
        are left alone.
        """
        from bot.policy import jmespath

        for entry in entries:
            name = str(entry.get("name") or "")
            if not name or name in preset:
                continue
            try:
                value = self._load_entry(entry, resolver)
            except (
                ContextError,
                variables.SubstitutionError,
                jmespath.JMESPathError,
                PolicybotError,  # the resolver's: RBAC, a lost connection, ...
            ) as error:
                self._failed[name] = f"failed to load context entry {name}: {error}"
                continue
            if value is _UNSET:
                # Kyverno registers no loader for it offline: the name stays
                # unknown, and expressions using it fail with "Unknown key".
                continue
            self._failed.pop(name, None)
            self.data[name] = value

    def _load_entry(self, entry: Mapping[str, Any], resolver: ContextResolver | None) -> Any:
        from bot.policy import jmespath

        if isinstance(entry.get("variable"), Mapping):
            return self._load_variable(entry["variable"], str(entry.get("name")))
        if isinstance(entry.get("configMap"), Mapping) and resolver is not None:
            spec = self.substitute(entry["configMap"])
            found = resolver.config_map(str(spec.get("name")), str(spec.get("namespace", "")))
            if found is None:
                raise ContextError(
                    f"ConfigMap {spec.get('namespace')}/{spec.get('name')} not found"
                )
            return dict(found)
        if isinstance(entry.get("apiCall"), Mapping) and resolver is not None:
            call = self.substitute(entry["apiCall"])
            result = resolver.api_call(call)
            path = call.get("jmesPath")
            return jmespath.search(path, result, missing_key_errors=True) if path else result
        return _UNSET

    def _load_variable(self, spec: Mapping[str, Any], name: str) -> Any:
        from bot.policy import jmespath

        path = self.substitute(spec["jmesPath"]) if spec.get("jmesPath") else ""
        default = self.substitute(spec["default"]) if "default" in spec else None
        output = default
        if "value" in spec:
            value = self.substitute(spec["value"])
            if path:
                try:
                    output = jmespath.search(str(path), value, missing_key_errors=True)
                except jmespath.JMESPathError:
                    if default is None:
                        raise
            else:
                output = value
        elif path:
            try:
                found = self.query(str(path))
                if found is not None:
                    output = found
            except (jmespath.JMESPathError, ContextError):
                if default is None:
                    raise
        if output is None:
            raise ContextError(f"variable {name} evaluated to nil")
        return output


class _Unset:
    pass


_UNSET: Any = _Unset()


def _document_for(request: AdmissionRequest) -> dict[str, Any]:
    """The JSON document Kyverno builds for a request, before rules add to it."""
    subject = request.subject
    data: dict[str, Any] = {"request": {"operation": request.operation}}
    if request.operation == "DELETE":
        data["request"]["oldObject"] = subject
    else:
        data["request"]["object"] = request.object
        if request.old_object is not None:
            data["request"]["oldObject"] = request.old_object
    metadata = subject.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
    data["request"]["namespace"] = str(namespace or "")
    _add_user(data, request)
    return data


def _add_user(data: dict[str, Any], request: AdmissionRequest) -> None:
    user = request.user_info
    info: dict[str, Any] = {}
    if user is not None:
        if user.username:
            info["username"] = user.username
        if user.uid:
            info["uid"] = user.uid
        if user.groups:
            info["groups"] = list(user.groups)
        if user.roles:
            data["request"]["roles"] = list(user.roles)
        if user.cluster_roles:
            data["request"]["clusterRoles"] = list(user.cluster_roles)
    data["request"]["userInfo"] = info
    # Kyverno splits a service account user name into its name and namespace.
    username = user.username if user is not None else ""
    prefix = "system:serviceaccount:"
    parts = username[len(prefix) :].split(":") if username.startswith(prefix) else []
    data["serviceAccountName"] = parts[1] if len(parts) >= 2 else ""
    data["serviceAccountNamespace"] = parts[0] if len(parts) >= 2 else ""


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in extra.items():
        if isinstance(result.get(key), Mapping) and isinstance(value, Mapping):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


IMAGE_KINDS = {
    "Pod": ("spec",),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
}
"""Where the containers are, for the kinds Kyverno extracts images from."""


def images_of(resource: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Kyverno's `images` variable: each container's image, parsed, by list and name."""
    from bot.policy.jmespath import images as image_refs

    path = IMAGE_KINDS.get(str(resource.get("kind") or ""))
    spec = _walk(resource, path) if path is not None else None
    if path is None or not isinstance(spec, Mapping):
        return {}
    found: dict[str, dict[str, Any]] = {}
    for list_name in CONTAINER_LISTS:
        containers = spec.get(list_name)
        if not isinstance(containers, list):
            continue
        for index, container in enumerate(containers):
            if not isinstance(container, Mapping) or not isinstance(container.get("image"), str):
                continue
            try:
                info = _image_info(container["image"])
            except image_refs.ImageError:
                continue
            pointer = "/" + "/".join((*path, list_name, str(index), "image"))
            info["jsonPointer"] = pointer
            found.setdefault(list_name, {})[str(container.get("name", ""))] = info
    return found


def _walk(document: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(key)
    return document


def _image_info(image: str) -> dict[str, Any]:
    """One image as Kyverno's ImageInfo serialises it (empty fields omitted)."""
    from bot.policy.jmespath import images as image_refs

    ref = image_refs.normalize(image)
    tag = ref.tag or ("" if ref.digest else "latest")
    base = f"{ref.registry}/{ref.path}" if ref.registry else ref.path
    info: dict[str, Any] = {
        "registry": ref.registry,
        "name": ref.path.rsplit("/", 1)[-1],
        "path": ref.path,
        "tag": tag,
        "digest": ref.digest,
        "reference": f"{base}@{ref.digest}" if ref.digest else f"{base}:{tag}",
        "referenceWithTag": f"{base}:{tag}",
    }
    return {key: value for key, value in info.items() if value or key in ("name", "path")}
