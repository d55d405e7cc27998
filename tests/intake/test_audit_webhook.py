"""The audit webhook receiver, driven over real HTTP and real TLS.

Plain-HTTP cases run through aiohttp's test server; certificate cases start
the receiver on 127.0.0.1 with an SSL context built from a throwaway CA that
the tests generate. Nothing in aiohttp is patched.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import gzip
import ipaddress
import json
import random
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import test_utils, web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bot import errors
from bot.intake import audit_webhook
from bot.intake.violations import Record, ResourceRef

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
TOKEN = "s3cret-token-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}

# -- audit events, shaped as kube-apiserver 1.30 writes them -------------------


def pod_manifest() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
    }


def denied_pod_create() -> dict[str, Any]:
    """A Pod create refused by Pod Security (enforce), at RequestResponse."""
    return {
        "level": "RequestResponse",
        "auditID": "5b0c7a0e-0000-4000-8000-000000000001",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/shop/pods?fieldManager=kubectl-client-side-apply",
        "verb": "create",
        "user": {"username": "alice@example.com", "groups": ["team-shop"]},
        "objectRef": {"resource": "pods", "namespace": "shop", "name": "web", "apiVersion": "v1"},
        "responseStatus": {
            "metadata": {},
            "status": "Failure",
            "message": 'pods "web" is forbidden: violates PodSecurity "restricted:latest":'
            ' allowPrivilegeEscalation != false (container "web" must set'
            " securityContext.allowPrivilegeEscalation=false)",
            "reason": "Forbidden",
            "details": {"name": "web", "kind": "pods"},
            "code": 403,
        },
        "requestObject": pod_manifest(),
        "responseObject": {"kind": "Status", "apiVersion": "v1", "code": 403},
        "annotations": {"pod-security.kubernetes.io/enforce-policy": "restricted:latest"},
    }


def allowed_pod_create() -> dict[str, Any]:
    event = denied_pod_create()
    event["auditID"] = "5b0c7a0e-0000-4000-8000-000000000002"
    event["responseStatus"] = {"metadata": {}, "code": 201}
    event["responseObject"] = pod_manifest()
    return event


def event_list(*events: Mapping[str, Any]) -> dict[str, Any]:
    # NB: the API server leaves kind/apiVersion off the items of an EventList.
    return {
        "kind": "EventList",
        "apiVersion": "audit.k8s.io/v1",
        "metadata": {},
        "items": [dict(event) for event in events],
    }


# -- a stand-in classifier and a sink for what comes out -----------------------


@dataclass(frozen=True)
class Seen:
    """What the stand-in classifier kept of one event."""

    audit_id: str
    requester: str | None
    request_object: Any


def classify(event: Mapping[str, Any]) -> list[Seen]:
    user = event.get("user")
    return [
        Seen(
            audit_id=str(event.get("auditID")),
            requester=user.get("username") if isinstance(user, dict) else None,
            request_object=event.get("requestObject"),
        )
    ]


class Sink:
    """Collects delivered records; tests await the count they expect."""

    def __init__(self) -> None:
        self.records: list[Seen] = []
        self.changed = asyncio.Event()

    async def __call__(self, records: list[Seen]) -> None:
        self.records.extend(records)
        self.changed.set()

    async def wait_for(self, count: int) -> list[Seen]:
        async with asyncio.timeout(5):
            while len(self.records) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.records


@asynccontextmanager
async def serving(
    settings: audit_webhook.ReceiverSettings,
    *,
    sink: Callable[[list[Seen]], Awaitable[None]],
    classifier: audit_webhook.Classifier[Seen] = classify,
) -> AsyncIterator[test_utils.TestClient[web.Request, web.Application]]:
    app = audit_webhook.make_app(settings, classify=classifier, on_records=sink)
    async with serving_app(app) as client:
        yield client


@asynccontextmanager
async def serving_app(
    app: web.Application,
) -> AsyncIterator[test_utils.TestClient[web.Request, web.Application]]:
    server = test_utils.TestServer(app)
    # NB: TestServer only honours server options given to start_server().
    await server.start_server(**audit_webhook.SERVER_OPTIONS)
    async with test_utils.TestClient(server) as client:
        yield client


def token_settings(**overrides: Any) -> audit_webhook.ReceiverSettings:
    return audit_webhook.ReceiverSettings(bearer_token=TOKEN, **overrides)


# -- bearer token ---------------------------------------------------------------


async def test_valid_bearer_token_is_accepted() -> None:
    sink = Sink()
    async with serving(token_settings(), sink=sink) as client:
        response = await client.post(
            "/audit", json=event_list(allowed_pod_create()), headers=BEARER
        )

        assert response.status == 200
        assert await response.json() == {"received": 1, "queued": 0}


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "no Authorization header"),
        ({"Authorization": "Bearer wrong-token"}, "does not match"),
        ({"Authorization": f"Bearer {TOKEN}x"}, "does not match"),
        ({"Authorization": f"Basic {TOKEN}"}, "not 'Bearer <token>'"),
        ({"Authorization": "Bearer"}, "does not match"),
    ],
)
async def test_missing_or_wrong_token_gets_401(headers: dict[str, str], reason: str) -> None:
    sink = Sink()
    async with serving(token_settings(), sink=sink) as client:
        response = await client.post(
            "/audit", json=event_list(denied_pod_create()), headers=headers
        )
        body = await response.json()

        assert response.status == 401
        assert reason in body["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert sink.records == []


async def test_path_is_configurable() -> None:
    sink = Sink()
    async with serving(token_settings(path="/k8s-audit"), sink=sink) as client:
        moved = await client.post("/k8s-audit", json=event_list(), headers=BEARER)
        old = await client.post("/audit", json=event_list(), headers=BEARER)

        assert moved.status == 200
        assert old.status == 404


# -- client certificates over real TLS -------------------------------------------


@dataclass(frozen=True)
class Pki:
    """PEM files of a throwaway CA, a server cert, and two client certs."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    subject: str,
    *,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    usage: x509.ObjectIdentifier | None,
    sans: list[x509.GeneralName] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if usage is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _write(directory: Path, stem: str, pair: tuple[x509.Certificate, Any]) -> tuple[Path, Path]:
    cert, key = pair
    cert_path, key_path = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = _issue("policybot-test-ca", issuer=None, usage=None)
    other_ca = _issue("someone-else-ca", issuer=None, usage=None)
    server = _issue(
        "policybot-audit",
        issuer=ca,
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        sans=[x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")],
    )
    client = _issue(
        "kube-apiserver",
        issuer=ca,
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        sans=[x509.DNSName("audit-client.kube-system")],
    )
    stranger = _issue("kube-apiserver", issuer=other_ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH)

    ca_path, _ = _write(directory, "ca", ca)
    server_cert, server_key = _write(directory, "server", server)
    client_cert, client_key = _write(directory, "client", client)
    stranger_cert, stranger_key = _write(directory, "stranger", stranger)
    return Pki(
        ca_path, server_cert, server_key, client_cert, client_key, stranger_cert, stranger_key
    )


@asynccontextmanager
async def serving_tls(
    settings: audit_webhook.ReceiverSettings, pki: Pki, sink: Sink
) -> AsyncIterator[str]:
    """The receiver on a free 127.0.0.1 port with TLS; yields its base URL."""
    context = audit_webhook.make_server_ssl_context(
        cert_file=pki.server_cert, key_file=pki.server_key, client_ca_file=pki.ca
    )
    app = audit_webhook.make_app(settings, classify=classify, on_records=sink)
    runner = await audit_webhook.start(app, host="127.0.0.1", port=0, ssl_context=context)
    try:
        port = runner.addresses[0][1]
        yield f"https://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def client_context(
    pki: Pki, *, cert: Path | None = None, key: Path | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None and key is not None:
        context.load_cert_chain(cert, key)
    return context


async def post_tls(
    url: str, context: ssl.SSLContext, *, headers: Mapping[str, str] | None = None
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/audit", json=event_list(denied_pod_create()), ssl=context, headers=headers
        ) as response,
    ):
        return response.status, await response.json()


async def test_client_certificate_is_accepted(pki: Pki) -> None:
    sink = Sink()
    settings = audit_webhook.ReceiverSettings(client_certs=True)
    async with serving_tls(settings, pki, sink) as url:
        context = client_context(pki, cert=pki.client_cert, key=pki.client_key)
        status, body = await post_tls(url, context)
        records = await sink.wait_for(1)

        assert status == 200
        assert body == {"received": 1, "queued": 1}
        assert records[0].requester == "alice@example.com"


async def test_absent_client_certificate_gets_401(pki: Pki) -> None:
    sink = Sink()
    settings = audit_webhook.ReceiverSettings(client_certs=True)
    async with serving_tls(settings, pki, sink) as url:
        status, body = await post_tls(url, client_context(pki))

        assert status == 401
        assert "no verified TLS client certificate" in body["error"]
        assert sink.records == []


async def test_certificate_from_another_ca_fails_handshake(pki: Pki) -> None:
    sink = Sink()
    settings = audit_webhook.ReceiverSettings(client_certs=True)
    async with serving_tls(settings, pki, sink) as url:
        context = client_context(pki, cert=pki.stranger_cert, key=pki.stranger_key)

        with pytest.raises(aiohttp.ClientError):
            await post_tls(url, context)
        assert sink.records == []


@pytest.mark.parametrize(
    ("allowed", "status"),
    [
        (frozenset({"kube-apiserver"}), 200),
        (frozenset({"audit-client.kube-system"}), 200),
        (frozenset({"system:node:worker-1"}), 401),
    ],
)
async def test_client_certificate_names_are_enforced(
    pki: Pki, allowed: frozenset[str], status: int
) -> None:
    sink = Sink()
    settings = audit_webhook.ReceiverSettings(client_certs=True, client_cert_names=allowed)
    async with serving_tls(settings, pki, sink) as url:
        context = client_context(pki, cert=pki.client_cert, key=pki.client_key)

        assert (await post_tls(url, context))[0] == status


async def test_token_or_certificate_each_suffice(pki: Pki) -> None:
    sink = Sink()
    settings = audit_webhook.ReceiverSettings(bearer_token=TOKEN, client_certs=True)
    async with serving_tls(settings, pki, sink) as url:
        with_token = await post_tls(url, client_context(pki), headers=BEARER)
        with_cert = await post_tls(
            url, client_context(pki, cert=pki.client_cert, key=pki.client_key)
        )
        with_neither = await post_tls(url, client_context(pki))

        assert with_token[0] == 200
        assert with_cert[0] == 200
        assert with_neither[0] == 401
        assert "bearer" in with_neither[1]["error"].lower()
        assert "certificate" in with_neither[1]["error"]


# -- 400 and 413 -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        (b"", "not JSON"),
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[" * 100_000, "not JSON"),
        (b"[]", "must be a JSON object"),
        (b'"EventList"', "must be a JSON object"),
        (b'{"kind": "EventList", "apiVersion": "audit.k8s.io/v1beta1"}', "--audit-webhook-version"),
        (b'{"kind": "EventList"}', "apiVersion must be"),
        (b'{"kind": "Pod", "apiVersion": "audit.k8s.io/v1"}', "kind must be"),
        (b'{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": {}}', "items must be"),
        (b'{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [1]}', "items[0]"),
    ],
)
async def test_malformed_body_gets_400(body: bytes, phrase: str) -> None:
    sink = Sink()
    async with serving(token_settings(), sink=sink) as client:
        response = await client.post(
            "/audit", data=body, headers={**BEARER, "Content-Type": "application/json"}
        )
        error = (await response.json())["error"]

        assert response.status == 400
        assert phrase in error
        assert len(error) < 300


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("gzip", b"not compressed"),
        ("gzip", gzip.compress(b" " * 10_000_000)),
        ("deflate", b"not compressed"),
        ("gzip, identity", b"{}"),
    ],
)
async def test_compressed_body_gets_415(encoding: str, body: bytes) -> None:
    """Nothing is decompressed, so a small gzip bomb costs us nothing."""
    sink = Sink()
    async with serving(token_settings(max_body_bytes=64 * 1024), sink=sink) as client:
        headers = {**BEARER, "Content-Encoding": encoding}
        response = await client.post("/audit", data=body, headers=headers)

        assert response.status == 415
        assert "must be plain JSON" in (await response.json())["error"]


async def test_announced_oversize_body_gets_413() -> None:
    sink = Sink()
    async with serving(token_settings(max_body_bytes=1024), sink=sink) as client:
        body = json.dumps(event_list(*[denied_pod_create()] * 20)).encode()
        response = await client.post("/audit", data=body, headers=BEARER)

        assert response.status == 413
        assert "larger than 1024 bytes" in (await response.json())["error"]
        assert sink.records == []


async def test_chunked_oversize_body_gets_413() -> None:
    """Without a Content-Length the limit still holds while reading."""

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield b" " * 1024

    sink = Sink()
    async with serving(token_settings(max_body_bytes=4096), sink=sink) as client:
        response = await client.post("/audit", data=chunks(), headers=BEARER)

        assert response.status == 413
        assert "--audit-webhook-truncate-max-batch-size" in (await response.json())["error"]


async def test_unauthenticated_oversize_body_gets_401() -> None:
    sink = Sink()
    async with serving(token_settings(max_body_bytes=16), sink=sink) as client:
        response = await client.post("/audit", data=b"x" * 1024)

        assert response.status == 401


# -- what gets picked out ----------------------------------------------------------


async def test_denied_pod_create_yields_record() -> None:
    sink = Sink()
    async with serving(token_settings(), sink=sink) as client:
        response = await client.post(
            "/audit", json=event_list(allowed_pod_create(), denied_pod_create()), headers=BEARER
        )
        records = await sink.wait_for(1)

        assert await response.json() == {"received": 2, "queued": 1}
        assert [record.audit_id for record in records] == [denied_pod_create()["auditID"]]
        assert records[0].requester == "alice@example.com"
        assert records[0].request_object == pod_manifest()


async def test_allowed_request_yields_nothing() -> None:
    sink = Sink()
    async with serving(token_settings(), sink=sink) as client:
        allowed = await client.post("/audit", json=event_list(allowed_pod_create()), headers=BEARER)
        # A denial posted afterwards proves the worker ran past the first POST.
        await client.post("/audit", json=event_list(denied_pod_create()), headers=BEARER)
        records = await sink.wait_for(1)

        assert await allowed.json() == {"received": 1, "queued": 0}
        assert [record.audit_id for record in records] == [denied_pod_create()["auditID"]]


async def test_single_event_is_accepted() -> None:
    sink = Sink()
    event = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", **denied_pod_create()}
    async with serving(token_settings(), sink=sink) as client:
        response = await client.post("/audit", json=event, headers=BEARER)
        records = await sink.wait_for(1)

        assert response.status == 200
        assert records[0].requester == "alice@example.com"


def _with(**changes: Any) -> dict[str, Any]:
    event = denied_pod_create()
    event.update(changes)
    return event


def _status(code: Any, message: Any) -> dict[str, Any]:
    return {"metadata": {}, "status": "Failure", "code": code, "message": message}


PSA_AUDIT = {
    "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
    "pod-security.kubernetes.io/audit-violations": 'would violate PodSecurity "restricted:latest"',
}
VAP_AUDIT = {
    "validation.policy.admission.k8s.io/validation_failure": '[{"message":"replicas too high"}]'
}
KYVERNO = 'admission webhook "validate.kyverno.svc-fail" denied the request: policy x'
VAP_DENY = "ValidatingAdmissionPolicy 'max-replicas' with binding 'b' denied request: too many"


@pytest.mark.parametrize(
    ("event", "selected"),
    [
        pytest.param(denied_pod_create(), True, id="psa-enforce-denial"),
        pytest.param(_with(responseStatus=_status(400, KYVERNO)), True, id="webhook-denial"),
        pytest.param(_with(responseStatus=_status(422, VAP_DENY)), True, id="vap-denial"),
        pytest.param(_with(verb="update"), True, id="update"),
        pytest.param(_with(verb="patch"), True, id="patch"),
        pytest.param(_with(stage=None), True, id="no-stage"),
        pytest.param(
            _with(responseStatus=_status(201, None), annotations=PSA_AUDIT), True, id="psa-audit"
        ),
        pytest.param(
            _with(responseStatus=_status(201, None), annotations=VAP_AUDIT), True, id="vap-audit"
        ),
        pytest.param(allowed_pod_create(), False, id="allowed"),
        pytest.param(_with(verb="get"), False, id="read"),
        pytest.param(_with(verb="delete"), False, id="delete"),
        pytest.param(_with(stage="RequestReceived"), False, id="early-stage"),
        pytest.param(
            _with(
                responseStatus=_status(403, 'pods is forbidden: User "bob" cannot create'),
                annotations={"authorization.k8s.io/decision": "forbid"},
            ),
            False,
            id="rbac-refusal",
        ),
        pytest.param(
            _with(responseStatus=_status(403, 'pods is forbidden: User "bob" cannot create')),
            False,
            id="unattributed-403",
        ),
        pytest.param(
            _with(
                responseStatus=_status(403, 'pods "web" is forbidden: exceeded quota: compute'),
                annotations={"authorization.k8s.io/decision": "allow"},
            ),
            True,
            id="quota-denial",
        ),
        pytest.param(
            _with(
                responseStatus=_status(422, 'Pod "web" is invalid: spec.containers: Required'),
                annotations={"authorization.k8s.io/decision": "allow"},
            ),
            False,
            id="schema-error",
        ),
        pytest.param(
            _with(responseStatus=_status(409, 'pods "web" already exists')), False, id="conflict"
        ),
        pytest.param(_with(responseStatus=_status(500, KYVERNO)), False, id="server-error"),
        pytest.param(_with(responseStatus=_status(True, KYVERNO)), False, id="bool-code"),
        pytest.param(_with(responseStatus=_status("403", KYVERNO)), False, id="string-code"),
        pytest.param(_with(responseStatus=[403]), False, id="status-not-object"),
        pytest.param(_with(annotations=["x"]), True, id="odd-annotations-still-denied"),
    ],
)
def test_events_are_selected_by_verb_and_outcome(event: dict[str, Any], selected: bool) -> None:
    if event.get("stage", "") is None:
        del event["stage"]

    assert audit_webhook.is_selected(event) is selected


def test_secret_contents_are_redacted() -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "db",
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": '{"data": 1}'},
        },
        "data": {"password": "aHVudGVyMg=="},
        "stringData": {"token": "plain"},
    }
    event = _with(
        objectRef={"resource": "secrets", "namespace": "shop", "name": "db", "apiVersion": "v1"},
        requestObject=secret,
    )

    prepared = audit_webhook.prepare(event)

    assert "aHVudGVyMg==" not in json.dumps(prepared)
    assert "plain" not in json.dumps(prepared)
    assert prepared["requestObject"]["data"] == {"password": "<redacted>"}
    assert "responseObject" not in prepared
    assert prepared["kind"] == "Event"
    assert secret["data"] == {"password": "aHVudGVyMg=="}


def test_secret_patch_body_is_dropped() -> None:
    event = _with(
        verb="patch",
        objectRef={"resource": "secrets", "name": "db"},
        requestObject=[{"op": "add", "path": "/data/key", "value": "c2VjcmV0"}],
    )

    assert audit_webhook.prepare(event)["requestObject"] is None


async def test_secret_reaches_classifier_redacted() -> None:
    seen: list[Mapping[str, Any]] = []

    def recording(event: Mapping[str, Any]) -> list[Seen]:
        seen.append(event)
        return classify(event)

    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"}}
    event = _with(
        objectRef={"resource": "secrets", "namespace": "shop", "name": "db", "apiVersion": "v1"},
        requestObject={**secret, "data": {"password": "aHVudGVyMg=="}},
        responseStatus=_status(400, KYVERNO),
    )
    sink = Sink()
    async with serving(token_settings(), sink=sink, classifier=recording) as client:
        await client.post("/audit", json=event_list(event), headers=BEARER)
        await sink.wait_for(1)

        assert seen[0]["requestObject"]["data"] == {"password": "<redacted>"}
        assert (seen[0]["kind"], seen[0]["apiVersion"]) == ("Event", "audit.k8s.io/v1")


@pytest.mark.parametrize("items", [None, []])
async def test_empty_event_list_is_accepted(items: list[Any] | None) -> None:
    sink = Sink()
    body = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": items}
    async with serving(token_settings(), sink=sink) as client:
        response = await client.post("/audit", json=body, headers=BEARER)

        assert await response.json() == {"received": 0, "queued": 0}


# -- with the real classifier (bot.intake.audit_events) ---------------------------


class RecordSink:
    """Collects the real parser's records."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.arrived = asyncio.Event()

    async def __call__(self, records: list[Record]) -> None:
        self.records.extend(records)
        self.arrived.set()


async def test_denied_pod_create_becomes_psa_record() -> None:
    sink = RecordSink()
    app = audit_webhook.make_app(token_settings(), on_records=sink)
    async with serving_app(app) as client:
        body = event_list(allowed_pod_create(), denied_pod_create())
        response = await client.post("/audit", json=body, headers=BEARER)
        await asyncio.wait_for(sink.arrived.wait(), 5)
        [record] = sink.records

        assert await response.json() == {"received": 2, "queued": 1}
        assert (record.engine, record.action) == ("psa", "deny")
        assert record.requester == "alice@example.com"
        assert record.request_object == pod_manifest()
        assert record.resource == ResourceRef("Pod", "shop", "web")
        assert [v.rule for v in record.violations] == ["allowPrivilegeEscalation != false"]


async def test_psa_audit_annotation_becomes_audit_record() -> None:
    """An allowed create at level Metadata, as kube-apiserver 1.30 logged it."""
    event = {
        "level": "Metadata",
        "auditID": "0cf28c0d-7508-4ff0-b65a-d59f5fbfb710",
        "stage": "ResponseComplete",
        "verb": "create",
        "user": {"username": "kubernetes-admin", "groups": ["system:authenticated"]},
        "objectRef": {"resource": "pods", "namespace": "default", "name": "pss-example"},
        "responseStatus": {"metadata": {}, "code": 201},
        "annotations": {
            "authorization.k8s.io/decision": "allow",
            "pod-security.kubernetes.io/audit-violations": "would violate PodSecurity"
            ' "restricted:latest": runAsNonRoot != true (pod or container "pss-example"'
            " must set securityContext.runAsNonRoot=true)",
            "pod-security.kubernetes.io/enforce-policy": "privileged:latest",
        },
    }
    sink = RecordSink()
    app = audit_webhook.make_app(token_settings(), on_records=sink)
    async with serving_app(app) as client:
        await client.post("/audit", json=event_list(event), headers=BEARER)
        await asyncio.wait_for(sink.arrived.wait(), 5)
        [record] = sink.records

        assert (record.engine, record.action) == ("psa", "audit")
        assert record.requester == "kubernetes-admin"
        assert record.request_object is None
        assert record.violations[0].containers == ("pss-example",)


async def test_real_classifier_survives_fuzzed_events() -> None:
    sink = RecordSink()
    app = audit_webhook.make_app(token_settings(), on_records=sink)
    async with serving_app(app) as client:
        for body in _fuzz_bodies(seed=99, count=300):
            response = await client.post("/audit", data=body, headers=BEARER)

            assert response.status in (200, 400)
        # A last, well-formed denial gets through once the junk has been handled.
        sink.arrived.clear()
        sink.records.clear()
        await client.post("/audit", json=event_list(denied_pod_create()), headers=BEARER)
        async with asyncio.timeout(5):
            while not any(r.requester == "alice@example.com" for r in sink.records):
                sink.arrived.clear()
                await sink.arrived.wait()
        health = await client.get("/healthz")

        assert health.status == 200


# -- load shedding and failures ------------------------------------------------------


async def test_full_queue_gets_429_with_retry_after() -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    delivered: list[Seen] = []

    async def slow_sink(records: list[Seen]) -> None:
        entered.set()
        await release.wait()
        delivered.extend(records)

    settings = token_settings(queue_batches=1, retry_after_seconds=7)
    async with serving(settings, sink=slow_sink) as client:
        body = event_list(denied_pod_create())
        first = await client.post("/audit", json=body, headers=BEARER)
        await asyncio.wait_for(entered.wait(), 5)
        second = await client.post("/audit", json=body, headers=BEARER)
        third = await client.post("/audit", json=body, headers=BEARER)
        release.set()

        assert (first.status, second.status, third.status) == (200, 200, 429)
        assert third.headers["Retry-After"] == "7"
        assert "retry in 7s" in (await third.json())["error"]
    # Closing the client shut the app down, which drains the queue first.
    assert len(delivered) == 2


async def test_classifier_failure_skips_one_event() -> None:
    def picky(event: Mapping[str, Any]) -> list[Seen]:
        if event.get("auditID") == "boom":
            raise KeyError("spec")
        return classify(event)

    sink = Sink()
    async with serving(token_settings(), sink=sink, classifier=picky) as client:
        body = event_list(_with(auditID="boom"), denied_pod_create())
        response = await client.post("/audit", json=body, headers=BEARER)
        records = await sink.wait_for(1)
        health = await client.get("/healthz")

        assert response.status == 200
        assert [record.audit_id for record in records] == [denied_pod_create()["auditID"]]
        assert health.status == 200


async def test_callback_failure_keeps_worker_alive() -> None:
    calls: list[int] = []
    second_call = asyncio.Event()

    async def flaky(records: list[Seen]) -> None:
        calls.append(len(records))
        if len(calls) == 1:
            raise RuntimeError("Slack is down")
        second_call.set()

    async with serving(token_settings(), sink=flaky) as client:
        for _ in range(2):
            await client.post("/audit", json=event_list(denied_pod_create()), headers=BEARER)
        await asyncio.wait_for(second_call.wait(), 5)
        health = await client.get("/healthz")

        assert calls == [1, 1]
        assert (await health.json())["status"] == "ok"


async def test_healthz_needs_no_credentials() -> None:
    sink = Sink()
    async with serving(token_settings(queue_batches=3), sink=sink) as client:
        response = await client.get("/healthz")

        assert response.status == 200
        assert await response.json() == {"status": "ok", "queued": 0, "capacity": 3}


# -- fuzzing -------------------------------------------------------------------------


def _junk(rng: random.Random, depth: int = 0) -> Any:
    """A random JSON value, nested a few levels deep."""
    leaves: list[Any] = [
        None,
        True,
        False,
        rng.randint(-(2**40), 2**40),
        rng.random() * 1e6,
        "",
        "create",
        "ResponseComplete",
        "denied the request",
        "\x00\ud7ff\u202e" * rng.randint(0, 3),
        403,
    ]
    roll = rng.random()
    if depth > 4 or roll < 0.4:
        return rng.choice(leaves)
    if roll < 0.7:
        return [_junk(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = ["kind", "apiVersion", "items", "verb", "stage", "responseStatus", "code", "message"]
    keys += ["annotations", "objectRef", "user", "requestObject", "auditID", "x"]
    return {rng.choice(keys): _junk(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def _mutate(rng: random.Random, value: Any) -> Any:
    """Replace one random node of a JSON value with junk."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        value[key] = _mutate(rng, value[key])
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        index = rng.randrange(len(value))
        value[index] = _mutate(rng, value[index])
        return value
    return _junk(rng)


def _fuzz_bodies(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    valid = event_list(denied_pod_create(), allowed_pod_create())
    bodies = []
    for index in range(count):
        kind = index % 3
        if kind == 0:
            bodies.append(rng.randbytes(rng.randint(0, 512)))
        elif kind == 1:
            bodies.append(json.dumps(_junk(rng)).encode())
        else:
            mutated = _mutate(rng, copy.deepcopy(valid))
            bodies.append(json.dumps(mutated).encode())
    return bodies


async def test_fuzzed_bodies_never_get_500() -> None:
    """Random bytes, random JSON and broken EventLists, some of them gzipped."""
    sink = Sink()
    async with serving(token_settings(max_body_bytes=64 * 1024), sink=sink) as client:
        statuses = set()
        for index, body in enumerate(_fuzz_bodies(seed=20240814, count=600)):
            headers = {**BEARER, "Content-Type": "application/json"}
            if index % 7 == 0:
                headers["Content-Encoding"] = "gzip"
                body = gzip.compress(body) if index % 2 else body
            response = await client.post("/audit", data=body, headers=headers)
            statuses.add(response.status)
            assert response.status in (200, 400, 415), body[:200]
            await response.read()
        health = await client.get("/healthz")

        assert statuses == {200, 400, 415}
        assert health.status == 200
        assert sink.records


async def test_fuzzed_authorization_headers_get_401() -> None:
    rng = random.Random(7)
    sink = Sink()
    async with serving(token_settings(), sink=sink) as client:
        for _ in range(100):
            value = "".join(chr(rng.randint(0x21, 0x7E)) for _ in range(rng.randint(0, 60)))
            response = await client.post(
                "/audit",
                json=event_list(),
                headers={"Authorization": rng.choice(["", "Bearer "]) + value},
            )

            assert response.status == 401


# -- configuration ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "phrase"),
    [
        (audit_webhook.ReceiverSettings(), "needs authentication"),
        (audit_webhook.ReceiverSettings(bearer_token="  "), "empty"),
        (token_settings(path="audit"), "must start with '/'"),
        (token_settings(path="/healthz"), "differ from /healthz"),
        (token_settings(queue_batches=0), "at least 1"),
    ],
)
def test_unsafe_settings_are_refused(settings: audit_webhook.ReceiverSettings, phrase: str) -> None:
    with pytest.raises(errors.PermanentError, match=phrase):
        audit_webhook.make_app(settings, classify=classify, on_records=Sink())


def test_missing_tls_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(errors.PermanentError, match="cannot load the audit webhook's TLS files"):
        audit_webhook.make_server_ssl_context(
            cert_file=tmp_path / "nope.crt", key_file=tmp_path / "nope.key"
        )


async def test_client_certs_without_tls_are_refused() -> None:
    app = audit_webhook.make_app(
        audit_webhook.ReceiverSettings(client_certs=True), classify=classify, on_records=Sink()
    )

    with pytest.raises(errors.PermanentError, match="needs TLS"):
        await audit_webhook.start(app, host="127.0.0.1", port=0, ssl_context=None)


# -- the sample files in docs/examples -------------------------------------------------


def _first_level(policy: dict[str, Any], group: str, resource: str, verb: str) -> str:
    """The level of the first rule matching a request, as the API server picks it."""
    for rule in policy["rules"]:
        if "verbs" in rule and verb not in rule["verbs"]:
            continue
        kinds = rule.get("resources")
        if kinds is not None and not any(
            kind["group"] == group and resource in kind.get("resources", [resource])
            for kind in kinds
        ):
            continue
        return str(rule["level"])
    return "None"


@pytest.mark.parametrize(
    ("group", "resource", "verb", "level"),
    [
        ("", "pods", "create", "Request"),
        ("apps", "deployments", "patch", "Request"),
        ("batch", "cronjobs", "update", "Request"),
        ("", "pods", "get", "None"),
        ("", "secrets", "create", "Metadata"),
        ("", "secrets", "list", "None"),
        ("", "configmaps", "update", "Metadata"),
        ("", "serviceaccounts/token", "create", "None"),
        ("coordination.k8s.io", "leases", "update", "None"),
        ("", "pods/status", "patch", "None"),
    ],
)
def test_sample_policy_levels(group: str, resource: str, verb: str, level: str) -> None:
    policy = yaml.safe_load((EXAMPLES / "audit-policy.yaml").read_text())

    assert (policy["apiVersion"], policy["kind"]) == ("audit.k8s.io/v1", "Policy")
    assert policy["omitStages"] == ["RequestReceived"]
    assert "RequestResponse" not in {rule["level"] for rule in policy["rules"]}
    assert _first_level(policy, group, resource, verb) == level


def test_sample_kubeconfig_points_at_receiver() -> None:
    config = yaml.safe_load((EXAMPLES / "audit-webhook-kubeconfig.yaml").read_text())
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    context = config["contexts"][0]

    assert config["current-context"] == context["name"]
    assert context["context"] == {
        "cluster": config["clusters"][0]["name"],
        "user": "kube-apiserver",
    }
    assert cluster["server"].startswith("https://")
    assert cluster["server"].endswith(audit_webhook.DEFAULT_PATH)
    assert "certificate-authority" in cluster
    assert {"client-certificate", "client-key"} <= set(user)


def test_pod_env_secrets_are_redacted_before_queueing() -> None:
    """A literal password in a rejected Pod never reaches the queue in clear."""
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "nginx:1.27",
                    "env": [{"name": "DB_PASSWORD", "value": "hunter2-but-longer"}],
                }
            ]
        },
    }
    event = _with(requestObject=pod)

    prepared = audit_webhook.prepare(event)

    assert "hunter2-but-longer" not in json.dumps(prepared)
    assert prepared["requestObject"]["spec"]["containers"][0]["image"] == "nginx:1.27"
