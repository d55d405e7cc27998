"""Receive the API server's audit stream and pick out admission denials.

Pod Security Admission and ValidatingAdmissionPolicy denials leave no Event
behind, and a rejected `kubectl apply` leaves no object to inspect: only the
API server's audit log sees them. This module is the receiving end of the
audit webhook backend (`--audit-webhook-config-file`). It accepts the
`audit.k8s.io/v1` `EventList` batches the API server POSTs (a single `Event`
too), keeps the writes that admission denied or that PSA/VAP annotated, and
hands them to a classifier and then to `on_records`.

Its boundary: this module authenticates, bounds, sorts and redacts; it never
reads a policy message. Turning an event into records is the classifier's
job (`bot.intake.audit_events.from_event` unless the caller gives another).

Why a bounded queue and not a task per POST: the handler must answer fast,
because a slow receiver fills the API server's audit buffer, after which the
API server discards events. So the handler only parses and sorts, puts the
selected events on a bounded `asyncio.Queue`, and answers 200; one worker
classifies and delivers them. When the queue is full the handler answers
429 with `Retry-After`: the webhook backend retries 429, 500, 504 and any
answer that carries `Retry-After`, but drops a batch on every other non-2xx
(`DefaultShouldRetry` in k8s.io/apiserver/pkg/util/webhook/webhook.go).
A task per POST would never push back and would grow without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar, overload

from aiohttp import hdrs, web

from bot import errors
from bot.intake import audit_events, resolving, violations

logger = logging.getLogger(__name__)

AUDIT_API_VERSION = "audit.k8s.io/v1"
DEFAULT_PATH = "/audit"
HEALTH_PATH = "/healthz"

# NB: the API server splits batches at --audit-webhook-truncate-max-batch-size
# (10 MiB by default) when truncation is on, and says a batch may come out a
# few hundred bytes larger; 12 MiB leaves room for that.
DEFAULT_MAX_BODY_BYTES = 12 * 1024 * 1024

WRITE_VERBS = frozenset({"create", "update", "patch"})

# Phrases the API server puts in the Status message of an admission denial:
# webhooks (Kyverno, Gatekeeper), ValidatingAdmissionPolicy, Pod Security.
# RBAC refusals and schema errors are 4xx too, but carry none of them.
# NB: Kyverno and VAP may answer 400 or 422 as well as 403.
DENIAL_MARKERS = ("denied the request", "denied request", "violates PodSecurity")

# Annotations that PSA (audit mode) and VAP (Audit action) leave on requests
# they let through; the request went in, but the team still needs the fix.
FINDING_ANNOTATIONS = (
    "pod-security.kubernetes.io/audit-violations",
    "validation.policy.admission.k8s.io/validation_failure",
)

AUTHZ_DECISION = "authorization.k8s.io/decision"


R = TypeVar("R")
Classifier = Callable[[Mapping[str, Any]], Sequence[R]]
"""Turns one audit Event into records; may raise on events it cannot read."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReceiverSettings:
    """How the receiver listens, authenticates and sheds load."""

    path: str = DEFAULT_PATH
    """Where the API server POSTs; the path of the webhook kubeconfig's URL."""

    bearer_token: str | None = None
    """Accept `Authorization: Bearer <token>` (the kubeconfig user's token)."""

    client_certs: bool = False
    """Accept a TLS client certificate verified against the CA bundle of the
    server's SSL context (see `make_server_ssl_context`)."""

    client_cert_names: frozenset[str] = frozenset()
    """If set, the certificate's CN or a SAN must be one of these; needed when
    the CA also signs other clients, as a cluster CA does."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Larger bodies get 413, which the API server does not retry."""

    queue_batches: int = 64
    """How many POSTs with selected events may wait for classification."""

    retry_after_seconds: int = 5
    """What the 429 for a full queue asks the API server to wait."""

    drain_seconds: float = 5.0
    """On shutdown, how long queued events may still be delivered."""

    def check(self) -> None:
        """Refuse settings that would serve nobody or anybody."""
        if self.bearer_token is None and not self.client_certs:
            raise errors.PermanentError(
                "the audit webhook needs authentication: set bearer_token, "
                "client_certs=True, or both"
            )
        if self.bearer_token is not None and not self.bearer_token.strip():
            raise errors.PermanentError("the audit webhook bearer_token is empty; set a real one")
        if not self.path.startswith("/") or self.path == HEALTH_PATH:
            raise errors.PermanentError(
                f"the audit webhook path must start with '/' and differ from {HEALTH_PATH},"
                f" got {self.path!r}"
            )
        if self.max_body_bytes < 1 or self.queue_batches < 1 or self.retry_after_seconds < 1:
            raise errors.PermanentError(
                "max_body_bytes, queue_batches and retry_after_seconds must be at least 1, got "
                f"{self.max_body_bytes}, {self.queue_batches} and {self.retry_after_seconds}"
            )


class PayloadError(ValueError):
    """The body is not an audit EventList or Event; the message says why."""


SETTINGS_KEY = web.AppKey("audit_webhook_settings", ReceiverSettings)

# Options for the aiohttp server that runs the app (see `start`). The API
# server never compresses audit batches, and refusing to decompress leaves a
# stranger no gzip bomb to send and no half-decoded body to trip over.
SERVER_OPTIONS: Mapping[str, Any] = {"auto_decompress": False}


@overload
def make_app(
    settings: ReceiverSettings,
    *,
    on_records: Callable[[list[violations.Record]], Awaitable[None]],
) -> web.Application: ...


@overload
def make_app(
    settings: ReceiverSettings,
    *,
    classify: Classifier[R],
    on_records: Callable[[list[R]], Awaitable[None]],
) -> web.Application: ...


def make_app(
    settings: ReceiverSettings,
    *,
    classify: Classifier[Any] = audit_events.from_event,
    on_records: Callable[[list[Any]], Awaitable[None]],
) -> web.Application:
    """Build the receiver: POST `settings.path` and GET /healthz.

    Args:
        settings: authentication and limits; checked here.
        classify: turns one selected audit Event into records; by default
            `audit_events.from_event`. It runs in a worker thread, one event
            at a time, never concurrently.
        on_records: receives the records of one POST, in order. Exceptions
            are logged and the records dropped; the receiver goes on.
    """
    settings.check()
    receiver = _Receiver(settings, classify=classify, on_records=on_records)
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[SETTINGS_KEY] = settings
    app.router.add_post(settings.path, receiver.handle_audit)
    app.router.add_get(HEALTH_PATH, receiver.handle_health)
    app.cleanup_ctx.append(receiver.run_worker)
    return app


def make_server_ssl_context(
    *,
    cert_file: str | os.PathLike[str],
    key_file: str | os.PathLike[str],
    client_ca_file: str | os.PathLike[str] | None = None,
) -> ssl.SSLContext:
    """A TLS server context; with `client_ca_file`, client certs are verified.

    A client certificate stays optional at the TLS level: a client without one
    still reaches the handler, which answers 401 with the reason (or accepts a
    bearer token). A certificate that does not verify fails the handshake.
    """
    # NB: built by hand because ssl.create_default_context() would also trust
    # the system's public CAs when verifying client certificates.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert_file, key_file)
        if client_ca_file is not None:
            context.load_verify_locations(cafile=client_ca_file)
            context.verify_mode = ssl.CERT_OPTIONAL
    except OSError as error:
        raise errors.PermanentError(
            f"cannot load the audit webhook's TLS files ({error}); check that the paths exist"
            " and that the key belongs to the certificate"
        ) from error
    return context


async def start(
    app: web.Application,
    *,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
) -> web.AppRunner:
    """Serve `app` on host:port; `await runner.cleanup()` stops it.

    Port 0 picks a free port; `runner.addresses` tells which.
    """
    settings = app[SETTINGS_KEY]
    if settings.client_certs and (ssl_context is None or ssl_context.verify_mode == ssl.CERT_NONE):
        raise errors.PermanentError(
            "client certificate authentication needs TLS that verifies clients: pass"
            " ssl_context=make_server_ssl_context(..., client_ca_file=CA)"
        )
    if ssl_context is None:
        logger.warning(
            "Serving the audit webhook over plain HTTP: request bodies and the bearer token"
            " travel in clear text; give it a certificate unless this is a test."
        )

    runner = web.AppRunner(app, **SERVER_OPTIONS)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl_context)
    try:
        await site.start()
    except OSError:
        await runner.cleanup()
        raise
    logger.info("Audit webhook listening on %s%s", runner.addresses, settings.path)
    return runner


def read_events(body: bytes) -> list[dict[str, Any]]:
    """The events of a POST body: the items of an EventList, or one Event.

    Raises:
        PayloadError: the body is not JSON, or not an audit.k8s.io/v1 object
            of kind EventList or Event.
    """
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:
        # ValueError covers bad JSON, bad UTF-8 and over-long integers.
        raise PayloadError(
            f"the body is not JSON ({_clip(str(error), 100)});"
            f" send an {AUDIT_API_VERSION} EventList"
        ) from None
    if not isinstance(payload, dict):
        raise PayloadError(f"the body must be a JSON object, got {type(payload).__name__}")

    # Check the type before the shape, so a wrong sender learns what it is.
    api_version, kind = payload.get("apiVersion"), payload.get("kind")
    if api_version != AUDIT_API_VERSION:
        raise PayloadError(
            f"apiVersion must be {AUDIT_API_VERSION!r}, got {_shown(api_version)};"
            f" run the API server with --audit-webhook-version={AUDIT_API_VERSION}"
        )
    if kind == "Event":
        return [payload]
    if kind != "EventList":
        raise PayloadError(f"kind must be 'EventList' or 'Event', got {_shown(kind)}")

    items = payload.get("items")
    if items is None:
        return []
    if not isinstance(items, list):
        raise PayloadError(f"items must be a list of audit Events, got {type(items).__name__}")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PayloadError(f"items[{index}] must be an audit Event object, got {_shown(item)}")
    return items


def is_selected(event: Mapping[str, object]) -> bool:
    """Whether an event is a write that admission denied or PSA/VAP flagged."""
    verb = event.get("verb")
    if not isinstance(verb, str) or verb not in WRITE_VERBS:
        return False
    # Earlier stages carry no response yet; omitStages usually drops them.
    stage = event.get("stage")
    if stage is not None and stage != "ResponseComplete":
        return False
    return is_admission_denial(event) or has_finding(event)


def is_admission_denial(event: Mapping[str, object]) -> bool:
    status = event.get("responseStatus")
    if not isinstance(status, dict):
        return False
    code, message = status.get("code"), status.get("message")
    # NB: type() and not isinstance(), so that JSON `true` is not the int 1.
    if type(code) is not int or not 400 <= code < 500 or not isinstance(message, str):
        return False
    if any(marker in message for marker in DENIAL_MARKERS):
        return True
    # Other admission plugins (ResourceQuota, LimitRanger) answer 403 in their
    # own words; that the authorizer had allowed the request tells them apart
    # from RBAC refusals, which are 403 too.
    annotations = event.get("annotations")
    decision = annotations.get(AUTHZ_DECISION) if isinstance(annotations, dict) else None
    return code == 403 and decision == "allow"


def has_finding(event: Mapping[str, object]) -> bool:
    annotations = event.get("annotations")
    if not isinstance(annotations, dict):
        return False
    return any(isinstance(annotations.get(key), str) for key in FINDING_ANNOTATIONS)


def prepare(event: Mapping[str, Any]) -> dict[str, Any]:
    """A copy fit to queue: typed as an Event, with secret material redacted.

    The audit stream carries request bodies, Secrets included, and we keep
    events in memory and hand them on. The response body is dropped: for a
    denial it is a Status, and for an allowed Secret write it is the Secret.
    """
    # NB: the API server leaves kind and apiVersion off the items of a list.
    prepared = {**event, "kind": "Event", "apiVersion": AUDIT_API_VERSION}
    prepared.pop("responseObject", None)
    body = prepared.get("requestObject")
    is_secret = isinstance(body, dict) and body.get("kind") == "Secret"
    if body is not None and _resource(event)[1] == "secrets" and not is_secret:
        # A patch to a Secret is nothing but secret values: drop it whole.
        prepared["requestObject"] = None
    elif isinstance(body, dict):
        prepared["requestObject"] = resolving.redact(body)
    return prepared


class _Receiver(Generic[R]):
    """The handlers and the worker, sharing one queue."""

    def __init__(
        self,
        settings: ReceiverSettings,
        *,
        classify: Classifier[R],
        on_records: Callable[[list[R]], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.classify = classify
        self.on_records = on_records
        self.queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue(settings.queue_batches)
        self.worker: asyncio.Task[None] | None = None

    async def handle_audit(self, request: web.Request) -> web.Response:
        # Authenticate before reading the body, so that a stranger cannot make
        # us buffer megabytes.
        refusal = self.authenticate(request)
        if refusal is not None:
            logger.warning("Refused an audit POST from %s: %s", request.remote, refusal)
            headers = {"WWW-Authenticate": 'Bearer realm="policybot-audit"'}
            return _error(401, refusal, headers=headers if self.settings.bearer_token else None)

        encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
        if encoding not in ("", "identity"):
            logger.warning("Refused an audit POST from %s: compressed body", request.remote)
            return _error(
                415,
                f"the body must be plain JSON, got Content-Encoding {_shown(encoding)};"
                " the API server sends audit batches uncompressed",
            )

        # Refuse an announced oversize body before reading any of it; a chunked
        # one is cut off by aiohttp once it passes client_max_size.
        length = request.content_length
        if length is not None and length > self.settings.max_body_bytes:
            return self.too_large(request, length)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self.too_large(request, None)
        except web.RequestPayloadError as error:
            # A body aiohttp could not decode, where the app is served without
            # SERVER_OPTIONS.
            logger.warning("Refused an audit POST from %s: %s", request.remote, error)
            return _error(400, f"the body could not be read ({_clip(str(error), 100)})")

        try:
            events = read_events(body)
        except PayloadError as error:
            logger.warning("Refused an audit POST from %s: %s", request.remote, error)
            return _error(400, str(error))
        selected = [prepare(event) for event in events if is_selected(event)]
        if not selected:
            logger.debug("Audit POST with %d events, none denied or flagged", len(events))
            return web.json_response({"received": len(events), "queued": 0})

        # A full queue means the worker is behind; 429 makes the API server
        # retry this batch later instead of dropping it.
        try:
            self.queue.put_nowait(selected)
        except asyncio.QueueFull:
            logger.warning(
                "Audit queue full (%d batches); asked the API server to retry %d events later.",
                self.settings.queue_batches,
                len(events),
            )
            return _error(
                429,
                f"the receiver is busy; retry in {self.settings.retry_after_seconds}s",
                headers={"Retry-After": str(self.settings.retry_after_seconds)},
            )
        for event in selected:
            _log_selected(event)
        return web.json_response({"received": len(events), "queued": len(selected)})

    async def handle_health(self, request: web.Request) -> web.Response:
        if self.worker is None or self.worker.done():
            return web.json_response({"status": "audit worker not running"}, status=503)
        return web.json_response(
            {"status": "ok", "queued": self.queue.qsize(), "capacity": self.queue.maxsize}
        )

    def authenticate(self, request: web.Request) -> str | None:
        """None if any configured method proves the caller, else the reasons."""
        reasons: list[str] = []
        token = self.settings.bearer_token
        if token is not None:
            header = request.headers.get(hdrs.AUTHORIZATION)
            scheme, _, presented = (header or "").partition(" ")
            if header is None:
                reasons.append("no Authorization header")
            elif scheme.lower() != "bearer":
                reasons.append("the Authorization header is not 'Bearer <token>'")
            elif hmac.compare_digest(_bytes(presented.strip()), _bytes(token)):
                return None
            else:
                reasons.append("the bearer token does not match")

        if self.settings.client_certs:
            names = _peer_names(request)
            allowed = self.settings.client_cert_names
            if names is None:
                reasons.append("no verified TLS client certificate")
            elif allowed and not names & allowed:
                reasons.append(
                    f"client certificate names {sorted(names)} are not among {sorted(allowed)}"
                )
            else:
                return None
        # End with what the webhook kubeconfig's user entry must hold.
        remedies = []
        if token is not None:
            remedies.append("a token (sent as 'Authorization: Bearer <token>')")
        if self.settings.client_certs:
            remedies.append("a client certificate signed by the receiver's client CA")
        return (
            f"not authenticated: {'; '.join(reasons)}."
            f" Give the webhook kubeconfig's user {' or '.join(remedies)}"
        )

    def too_large(self, request: web.Request, length: int | None) -> web.Response:
        limit = self.settings.max_body_bytes
        logger.warning(
            "Refused an audit POST from %s: %s bytes is over the %d byte limit; the API server"
            " drops that batch.",
            request.remote,
            length if length is not None else "more than that",
            limit,
        )
        return _error(
            413,
            f"the body is larger than {limit} bytes; enable --audit-webhook-truncate-enabled and"
            f" keep --audit-webhook-truncate-max-batch-size below {limit} on the API server",
        )

    async def run_worker(self, app: web.Application) -> AsyncIterator[None]:
        """Run the worker while the app runs; let it drain briefly on shutdown."""
        self.worker = asyncio.create_task(self.work(), name="audit-webhook-worker")
        yield

        try:
            await asyncio.wait_for(self.queue.join(), timeout=self.settings.drain_seconds)
        except TimeoutError:
            logger.warning(
                "Audit webhook stopped with %d batches undelivered; their denials go unreported.",
                self.queue.qsize() + 1,
            )
        self.worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.worker

    async def work(self) -> None:
        while True:
            batch = await self.queue.get()
            try:
                await self.deliver(batch)
            finally:
                self.queue.task_done()

    async def deliver(self, batch: list[dict[str, Any]]) -> None:
        # A thread keeps the handlers answering while a large batch is parsed.
        records = await asyncio.to_thread(self.classify_all, batch)
        if not records:
            return
        try:
            await self.on_records(records)
        except Exception:
            logger.exception("Handing on %d audit records failed; they are dropped.", len(records))

    def classify_all(self, batch: Iterable[dict[str, Any]]) -> list[R]:
        records: list[R] = []
        for event in batch:
            try:
                records.extend(self.classify(event))
            except Exception:
                logger.exception(
                    "Could not classify audit event %s; skipped it.", _shown(event.get("auditID"))
                )
        return records


def _error(status: int, message: str, *, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _log_selected(event: Mapping[str, Any]) -> None:
    group, resource, namespace, name = _resource(event)
    user = event.get("user")
    username = user.get("username") if isinstance(user, dict) else None
    what = "denied" if is_admission_denial(event) else "flagged"
    logger.info(
        "Audit: %s %s of %s %s/%s by %s (auditID %s)",
        what,
        _shown(event.get("verb")),
        _shown(resource),
        _shown(namespace),
        _shown(name),
        _shown(username),
        _shown(event.get("auditID")),
        # NB: "name" would clash with the LogRecord attribute of that name.
        extra={
            "k8s_group": group,
            "k8s_resource": resource,
            "k8s_namespace": namespace,
            "k8s_name": name,
            "audit_id": event.get("auditID"),
        },
    )


def _resource(event: Mapping[str, Any]) -> tuple[str | None, str | None, str | None, str | None]:
    """(apiGroup, resource, namespace, name) of the objectRef, where strings."""
    ref = event.get("objectRef")
    if not isinstance(ref, dict):
        return None, None, None, None
    fields = (ref.get(key) for key in ("apiGroup", "resource", "namespace", "name"))
    group, resource, namespace, name = (v if isinstance(v, str) else None for v in fields)
    return group, resource, namespace, name


def _peer_names(request: web.Request) -> frozenset[str] | None:
    """CN and SANs of a client certificate the TLS layer verified, else None."""
    transport = request.transport
    # NB: Python reports an empty dict for a certificate it did not verify,
    # so only verified certificates come through here.
    cert = transport.get_extra_info("peercert") if transport is not None else None
    if not isinstance(cert, dict) or not cert:
        return None
    names: set[str] = set()
    for rdn in cert.get("subject", ()):
        names.update(value for key, value in rdn if key == "commonName")
    names.update(value for _kind, value in cert.get("subjectAltName", ()))
    return frozenset(names)


def _bytes(text: str) -> bytes:
    # aiohttp decodes headers with surrogateescape; keep odd bytes comparable.
    return text.encode("utf-8", "surrogateescape")


def _shown(value: object) -> str:
    """A client-sent value, short enough for a log line or an error."""
    # repr() for anything unprintable, so a sender cannot forge log lines.
    text = value if isinstance(value, str) and value.isprintable() else repr(value)
    return _clip(text, 80)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
