"""The manifest a team should fix, cleaned of what the server wrote and of secrets.

A rejection comes with the object as the API server saw it, at best (audit
events and AdmissionReviews carry the request object), or only with a name.
Either way the manifest we show must be the one the team keeps in its repo:
for a Pod a ReplicaSet tried to create, that is the Deployment, reached through
the owner chain (an injected `OwnerLookup`, such as `bot.kube.OwnerResolver`).

What the server added is stripped, so the fix reads like the team's own file:
status, bookkeeping metadata (uid, resourceVersion, managedFields, ...),
controller ownerReferences, annotations and labels that controllers generate
(last-applied-configuration, deployment revisions, pod-template-hash, a Job's
controller-uid), and a Pod's scheduling and injected token volume. Fields the
API server filled with defaults stay: telling them from what a team wrote
would need the OpenAPI defaults of every kind.

Secret material is redacted before anything reaches Slack or a log: Secret
`data`/`stringData` values, env values whose names look secret, and anything
shaped like a credential (JWTs, GitHub and Slack tokens, AWS key ids, private
key blocks, passwords in URLs, long base64 blobs in env values).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.errors import PermanentError

logger = logging.getLogger(__name__)

REDACTED = "<redacted>"

# The group/version of kinds a rejection may name without one.
DEFAULT_API_VERSIONS = {
    "Pod": "v1",
    "ReplicationController": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
}

SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
GENERATED_ANNOTATIONS = frozenset(
    {
        LAST_APPLIED,
        "policies.kyverno.io/last-applied-patches",
        "policies.kyverno.io/patches",
    }
)
GENERATED_ANNOTATION_PREFIXES = (
    "deployment.kubernetes.io/",
    "batch.kubernetes.io/",
    "control-plane.alpha.kubernetes.io/",
)
GENERATED_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "pod-template-generation",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "controller-uid",
        "job-name",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-name",
        "batch.kubernetes.io/job-completion-index",
    }
)
CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")

# Env var names that hold secrets, matched case-insensitively. A whole word
# KEY or PASS counts, so that KEYCLOAK_URL and PASSTHROUGH stay readable.
SECRET_NAME = re.compile(
    r"passw(or)?d|passphrase|secret|token|credential|private[-_.]?key|api[-_.]?key"
    r"|access[-_.]?key|signing[-_.]?key|(^|[-_.])(key|pass|pwd|dsn)($|[-_.])",
    re.IGNORECASE,
)
# Credentials recognisable by their shape, wherever they appear in a string.
TOKEN_PATTERNS = (
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),  # JWT
    re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),  # GitHub
    re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),  # AWS access key id
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),  # GitLab
    re.compile(r"\bsk-[A-Za-z0-9_-]{20,}"),  # API keys in the OpenAI/Stripe style
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(-----END [A-Z ]*PRIVATE KEY-----|$)",
        re.DOTALL,
    ),
)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@\s]+(?=@)", re.IGNORECASE)
BASE64_BLOB = re.compile(r"^[A-Za-z0-9+/_-]{32,}={0,2}$")


@dataclass(frozen=True)
class Resolution:
    """The manifest to fix, and where it came from."""

    manifest: dict[str, Any]
    """Stripped and redacted; safe to render in Slack."""

    source: Literal["request", "owner-chain"]
    """"request": the object in the rejected request; "owner-chain": the
    top workload above the object the rejection names."""


class OwnerLookup(Protocol):
    """Finds the workload at the top of an object's owner chain."""

    async def find_top_manifest(
        self, *, api_version: str, kind: str, namespace: str, name: str
    ) -> Mapping[str, Any]: ...


def request_object(payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The requested object in an audit event or an AdmissionReview, if any."""
    found = payload.get("requestObject")
    if found is None and isinstance(payload.get("request"), Mapping):
        found = payload["request"].get("object")
    return found if isinstance(found, Mapping) and found else None


async def resolve(
    *,
    request: Mapping[str, Any] | None = None,
    involved: Mapping[str, Any] | None = None,
    owners: OwnerLookup | None = None,
) -> Resolution:
    """Find the manifest to fix for one rejection.

    Args:
        request: the rejected object, from `request_object` or a parsed record.
        involved: the object a rejection Event names (`involvedObject`:
            apiVersion, kind, namespace, name); used when there is no request
            object.
        owners: walks ownerReferences; without it, no owner chain is followed.

    The request object wins, unless a controller made it (a Pod from a
    ReplicaSet): then its owner chain leads to what the team wrote.

    Raises:
        PermanentError: neither a request object nor a readable object.
    """
    # A request that a controller sent points at its controller.
    if request is not None:
        controller = _controller_of(request)
        if controller is None or owners is None:
            return Resolution(clean(request), "request")
        namespace = str((request.get("metadata") or {}).get("namespace") or "")
        try:
            top = await _find_top(owners, {**controller, "namespace": namespace})
        except PermanentError as e:
            logger.debug("Keeping the request object; its owner chain failed: %s", e)
            return Resolution(clean(request), "request")
        return Resolution(clean(top), "owner-chain")

    # Otherwise the object the rejection names, and what owns it.
    if involved is None or not involved.get("kind") or not involved.get("name"):
        raise PermanentError(
            "No manifest to fix: the rejection carries no request object and names no object."
        )
    if owners is None:
        raise PermanentError(
            f"No manifest to fix for {involved.get('kind')} {involved.get('name')}: "
            f"the rejection carries no request object and the cluster is not connected."
        )
    return Resolution(clean(await _find_top(owners, involved)), "owner-chain")


def clean(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `manifest` without server-written fields or secrets."""
    return redact(strip_server_fields(manifest))


def strip_server_fields(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without what the API server and controllers wrote."""
    result: dict[str, Any] = copy.deepcopy(dict(manifest))
    result.pop("status", None)
    if isinstance(result.get("metadata"), dict):
        _strip_metadata(result["metadata"], top=True)

    # Templates carry metadata of their own, and selectors echo its labels.
    spec = result.get("spec")
    if isinstance(spec, dict):
        _strip_workload_spec(spec)
        job_template = spec.get("jobTemplate")
        if isinstance(job_template, dict):
            if isinstance(job_template.get("metadata"), dict):
                _strip_metadata(job_template["metadata"], top=False)
            if isinstance(job_template.get("spec"), dict):
                _strip_workload_spec(job_template["spec"])
        if result.get("kind") == "Pod":
            _strip_pod_spec(spec)
    return result


def redact(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with secret values replaced by "<redacted>"."""
    result = _redact_node(manifest, key="")
    assert isinstance(result, dict)  # a mapping maps to a dict

    # Secrets are secret by kind: every value goes, the keys stay.
    if result.get("kind") == "Secret":
        for field in ("data", "stringData"):
            if isinstance(result.get(field), dict):
                result[field] = dict.fromkeys(result[field], REDACTED)
            elif field in result:
                result[field] = REDACTED
        # NB: `kubectl apply` keeps a whole copy of the Secret in an annotation.
        annotations = (result.get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and LAST_APPLIED in annotations:
            annotations[LAST_APPLIED] = REDACTED
    return result


def redact_text(text: str) -> str:
    """`text` with every credential-shaped part replaced."""
    for pattern in TOKEN_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return URL_PASSWORD.sub(lambda m: m.group("head") + REDACTED, text)


async def _find_top(owners: OwnerLookup, ref: Mapping[str, Any]) -> Mapping[str, Any]:
    kind = str(ref.get("kind") or "")
    api_version = str(ref.get("apiVersion") or DEFAULT_API_VERSIONS.get(kind, ""))
    return await owners.find_top_manifest(
        api_version=api_version,
        kind=kind,
        namespace=str(ref.get("namespace") or ""),
        name=str(ref.get("name") or ""),
    )


def _controller_of(manifest: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for reference in (manifest.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(reference, Mapping) and reference.get("controller") is True:
            return reference
    return None


def _strip_metadata(metadata: dict[str, Any], *, top: bool) -> None:
    for key in SERVER_METADATA:
        metadata.pop(key, None)

    # Controllers' ownerReferences go; ones a person wrote by hand stay.
    if top and "ownerReferences" in metadata:
        kept = [
            ref
            for ref in metadata["ownerReferences"] or []
            if not (isinstance(ref, Mapping) and ref.get("controller") is True)
        ]
        if kept:
            metadata["ownerReferences"] = kept
        else:
            del metadata["ownerReferences"]

    # Generated annotations and labels, and the maps they leave empty.
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        for key in [k for k in annotations if _is_generated_annotation(k)]:
            del annotations[key]
    labels = metadata.get("labels")
    if isinstance(labels, dict):
        for key in [k for k in labels if k in GENERATED_LABELS]:
            del labels[key]
    for key in ("annotations", "labels"):
        if key in metadata and not metadata[key]:
            del metadata[key]


def _strip_workload_spec(spec: dict[str, Any]) -> None:
    """Clean a spec with a Pod template: Deployments, Jobs and the like."""
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("metadata"), dict):
        _strip_metadata(template["metadata"], top=False)
        if not template["metadata"]:
            del template["metadata"]

    # NB: a Job's controller writes its own uid into the selector unless the
    # team set manualSelector; an emptied selector is the controller's.
    selector = spec.get("selector")
    if isinstance(selector, dict) and isinstance(selector.get("matchLabels"), dict):
        match_labels = selector["matchLabels"]
        for key in [k for k in match_labels if k in GENERATED_LABELS]:
            del match_labels[key]
        if not match_labels:
            del selector["matchLabels"]
        if not selector:
            del spec["selector"]


def _strip_pod_spec(spec: dict[str, Any]) -> None:
    """Drop the scheduler's node and the service-account token volume."""
    spec.pop("nodeName", None)
    volumes = spec.get("volumes")
    if not isinstance(volumes, list):
        return
    injected = {
        volume.get("name")
        for volume in volumes
        if isinstance(volume, dict) and str(volume.get("name", "")).startswith("kube-api-access-")
    }
    if not injected:
        return
    spec["volumes"] = [
        v for v in volumes if not (isinstance(v, dict) and v.get("name") in injected)
    ]
    if not spec["volumes"]:
        del spec["volumes"]
    for list_name in CONTAINER_LISTS:
        for container in spec.get(list_name) or []:
            mounts = container.get("volumeMounts") if isinstance(container, dict) else None
            if isinstance(mounts, list):
                container["volumeMounts"] = [m for m in mounts if m.get("name") not in injected]
                if not container["volumeMounts"]:
                    del container["volumeMounts"]


def _is_generated_annotation(key: str) -> bool:
    return key in GENERATED_ANNOTATIONS or key.startswith(GENERATED_ANNOTATION_PREFIXES)


def _redact_node(node: Any, *, key: str) -> Any:
    if isinstance(node, Mapping):
        return {k: _redact_node(v, key=str(k)) for k, v in node.items()}
    if isinstance(node, list):
        if key == "env":
            return [_redact_env_var(item) for item in node]
        return [_redact_node(item, key=key) for item in node]
    if isinstance(node, str):
        return redact_text(node)
    return node


def _redact_env_var(item: Any) -> Any:
    """An env entry: the value goes if its name or its shape says secret."""
    if not isinstance(item, Mapping):
        return _redact_node(item, key="")
    result = {k: _redact_node(v, key=str(k)) for k, v in item.items()}
    value = item.get("value")
    if isinstance(value, str) and value and _is_secret_env(str(item.get("name", "")), value):
        result["value"] = REDACTED
    return result


def _is_secret_env(name: str, value: str) -> bool:
    if SECRET_NAME.search(name):
        return True
    if not BASE64_BLOB.match(value):
        return False
    # A blob that mixes cases and digits is a key; hex digests and words are not.
    return (
        any(c.isupper() for c in value)
        and any(c.islower() for c in value)
        and any(c.isdigit() for c in value)
    )
