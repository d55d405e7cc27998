"""`policybot run`: every layer wired together, and taken down in order.

This module holds no logic of its own beyond the wiring: it builds the
store, the policies and knowledge, the cluster client, the Slack clients and
outbox, the rejection handler, the sources that feed it (the Event watcher,
the audit webhook), the bolt app, and the health server, then runs them
until SIGTERM.

Start-up fails fast, before any message is sent, on anything a person must
fix (a policy file that does not parse, a store folder that is missing, a
kubeconfig that does not load). Once running, a dependency that goes away
(the API server, Slack) is retried by the component that uses it, and
`/readyz` says which one is down.

Shutdown (SIGTERM, or Ctrl-C) stops taking work in first and sends what is
owed last: Slack and the audit webhook stop accepting requests, the watcher
stops, the message counts still unshown are flushed, the outbox gets a few
seconds to deliver, and the store closes. Whatever the outbox could not send
stays in the store for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot import config as settings, health, kube
from bot.errors import PermanentError, PolicybotError, TemporaryError
from bot.intake import audit_webhook, parsing, resolving
from bot.knowledge import catalog
from bot.kube import clients, platform_defaults as cluster_defaults
from bot.notify import admissions
from bot.notify.delivery import Notifier
from bot.notify.grouping import Grouper, GroupSettings
from bot.notify.notices import Knowledge
from bot.policy import celpolicies, documents, policies
from bot.policy.fixes import platform_defaults
from bot.policy.fixes.platform_defaults import PlatformDefaults
from bot.slack import app as slack_app
from bot.slack.outbox import Outbox, new_web_client
from bot.store.outbox import MessageRecord, NewItem, OutboxItem, OutboxStore
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from bot.store.sqlite_outbox import SQLiteOutboxStore
from handlers.checking import Judge
from handlers.rejections import RejectionHandler

logger = logging.getLogger(__name__)

SHUTDOWN_DELIVERY_SECONDS = 5.0
"""On shutdown, how long the outbox may still send what is queued."""

KYVERNO_POLICY_LISTS = (
    ("/apis/kyverno.io/v1/clusterpolicies", "ClusterPolicy"),
    ("/apis/kyverno.io/v1/policies", "Policy"),
)


class Bot:
    """The running bot: `start`, then `wait`, then `stop`.

    Args:
        config: the checked configuration file.
        secrets: tokens from the environment.
        kubeconfig, context: where the cluster is, outside a pod.
    """

    def __init__(
        self,
        config: settings.Config,
        secrets: settings.Secrets,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.kubeconfig = kubeconfig
        self.context = context
        self.metrics = health.Metrics()
        self.stopping = asyncio.Event()
        self.slack: slack_app.SlackConnection | None = None
        self.health_runner: web.AppRunner | None = None
        self.audit_runner: web.AppRunner | None = None
        self.handler: RejectionHandler | None = None
        self._started = False
        self._tasks: list[asyncio.Task[None]] = []
        self._cleanups: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> None:
        """Build and start every component; on failure, undo what started."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        config = self.config

        # The store first: it is where everything that must survive lives.
        groups_store = SQLiteNotificationGroups(config.store.path)
        outbox_store = SQLiteOutboxStore(config.store.path)
        self._on_stop(_closing(groups_store.close))
        self._on_stop(_closing(outbox_store.close))

        # The clients: the cluster, and Slack (one client for the outbox, which
        # retries on its own, one for bolt).
        api = clients.connect(kubeconfig=self.kubeconfig, context=self.context)
        self._on_stop(_closing(lambda: clients.close(api)))
        resolver = kube.OwnerResolver(api)
        base_url = config.slack.api_url
        outbox_client = new_web_client(self.secrets.bot_token, base_url=base_url)
        bolt_client = slack_app.make_client(self.secrets.bot_token, base_url=base_url)

        # The probes, early: liveness answers while the rest starts, and
        # readiness says what it is waiting for.
        readiness = health.Readiness(
            {
                "started": self._started_probe,
                "store": _store_probe(groups_store),
                "slack": lambda: slack_app.probe(bolt_client),
                "cluster": _cluster_probe(resolver),
            }
        )
        listen = config.health.listen
        self.health_runner = await health.start(
            health.make_app(metrics=self.metrics, readiness=readiness),
            host=listen.host,
            port=listen.port,
        )
        self._on_stop(self.health_runner.cleanup)

        # What the bot knows: policies, explanations, teams.
        kyverno, cel = load_policies(config.policies)
        if config.policies.cluster:
            kyverno += await read_cluster_policies(api)
        file_defaults = load_fix_defaults(config.fix_defaults)
        # NB: rejection messages take the file defaults only; the cluster's are
        # read per namespace for /policy check, where a person waits anyway.
        knowledge = Knowledge.load(kyverno, catalog.load_catalog(), defaults=file_defaults)
        logger.info("Loaded %d Kyverno and %d CEL policies.", len(kyverno), len(cel))
        registry = await slack_app.resolve_oncall_groups(bolt_client, config.load_registry())

        # The outbox, the handler, and the timer that shows the counts of repeats.
        outbox = Outbox(CountingOutboxStore(outbox_store, self.metrics), settle=False)
        self.metrics.outbox_pending.read_from(lambda: len(outbox_store.open_outbox_items()))
        self._spawn("outbox", outbox.run(outbox_client, stop=self.stopping))
        grouping = config.grouping
        group_settings = GroupSettings(
            window=grouping.window,
            max_age=grouping.max_age,
            update_interval=grouping.update_interval,
        )
        handler = RejectionHandler(
            registry=registry,
            knowledge=knowledge,
            notifier=Notifier(Grouper(groups_store, group_settings), outbox),
            owners=resolver,
            namespaces=ClusterObjects(resolver),
            metrics=self.metrics,
        )
        self.handler = handler
        self._spawn("flush", self._flush_periodically(handler))
        self._on_stop(lambda: self._deliver_last(handler, outbox, outbox_client))

        # The sources of rejections.
        if config.watch.enabled:
            watcher: kube.EventWatcher[object] = kube.EventWatcher(
                api,
                classify=classify_event,
                store=groups_store,
                settings=kube.WatchSettings(namespaces=config.watch.namespaces),
            )
            self._spawn("watch", watcher.run(_on_event(handler)))
        if config.audit_webhook.enabled:
            await self._start_audit_webhook(handler)

        # Slack's requests: the slash command and the buttons. Their fixes copy
        # what the platform decided, read per namespace from the cluster.
        defaults: PlatformDefaults | kube.ClusterDefaults = file_defaults
        if config.fix_defaults.cluster:
            defaults = kube.ClusterDefaults(api, fallback=file_defaults)
        judge = Judge(
            policies=kyverno,
            cel_policies=cel,
            catalog=knowledge.explainer.catalog,
            resolver=kube.ClusterContextResolver(api),
            defaults=defaults,
        )
        listeners = slack_app.Listeners(
            command=config.slack.command,
            judge=judge,
            objects=ClusterObjects(resolver),
            groups=groups_store,
            outbox=outbox,
            metrics=self.metrics,
        )
        http = config.slack.mode == "http"
        bolt = slack_app.build_app(
            listeners,
            client=bolt_client,
            signing_secret=self.secrets.signing_secret if http else None,
        )
        self.slack = slack_app.SlackConnection(
            bolt,
            mode=config.slack.mode,
            app_token=self.secrets.app_token,
            host=config.slack.http.listen.host,
            port=config.slack.http.listen.port,
            path=config.slack.http.path,
        )
        await self.slack.start()
        self._on_stop(self.slack.stop)
        self._started = True
        logger.info("Policybot is running.")

    async def _started_probe(self) -> health.ProbeResult:
        if self._started:
            return health.ProbeResult(True)
        return health.ProbeResult(False, "starting: loading policies and connecting to Slack")

    async def wait(self) -> None:
        """Until `stopping` is set, or a component stops on its own."""
        stop = asyncio.create_task(self.stopping.wait())
        try:
            done, _ = await asyncio.wait([stop, *self._tasks], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        for task in done:
            if task is not stop and not self.stopping.is_set():
                error = task.exception()
                raise PermanentError(
                    f"The {task.get_name()} task stopped unexpectedly: {error!r}; restarting "
                    "the bot is the remedy, and the log above says why it stopped."
                )

    async def stop(self) -> None:
        """Stop everything that started, the last started first."""
        self.stopping.set()
        self._started = False
        while self._cleanups:
            cleanup = self._cleanups.pop()
            try:
                await cleanup()
            except Exception:
                logger.exception("A step of the shutdown failed; going on with the rest.")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    # Helpers of start.

    def _spawn(self, name: str, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.create_task(run(), name=name)
        self._tasks.append(task)

        async def cancel() -> None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        self._on_stop(cancel)

    def _on_stop(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        self._cleanups.append(cleanup)

    async def _flush_periodically(self, handler: RejectionHandler) -> None:
        interval = self.config.grouping.update_interval.total_seconds()
        while True:
            await asyncio.sleep(interval)
            try:
                await handler.flush()
            except PolicybotError as error:
                logger.warning("Could not update the counts of repeated rejections: %s", error)

    async def _deliver_last(self, handler: RejectionHandler, outbox: Outbox, client: Any) -> None:
        """Show every count, then give the outbox a moment to send it."""
        await handler.flush(force=True)
        try:
            async with asyncio.timeout(SHUTDOWN_DELIVERY_SECONDS):
                await outbox.deliver_pending(client)
        except (TimeoutError, PolicybotError) as error:
            logger.warning(
                "Stopped with Slack messages still queued (%s); they are sent at the next start.",
                type(error).__name__,
            )

    async def _start_audit_webhook(self, handler: RejectionHandler) -> None:
        section = self.config.audit_webhook
        tls = section.tls
        receiver = audit_webhook.ReceiverSettings(
            path=section.path,
            bearer_token=self.secrets.audit_token,
            client_certs=tls is not None and tls.client_ca_file is not None,
            client_cert_names=frozenset(tls.client_cert_names) if tls is not None else frozenset(),
        )
        ssl_context = None
        if tls is not None:
            ssl_context = audit_webhook.make_server_ssl_context(
                cert_file=tls.cert_file, key_file=tls.key_file, client_ca_file=tls.client_ca_file
            )
        app = audit_webhook.make_app(receiver, classify=_as_payload, on_records=_on_audit(handler))
        self.audit_runner = await audit_webhook.start(
            app, host=section.listen.host, port=section.listen.port, ssl_context=ssl_context
        )
        self._on_stop(self.audit_runner.cleanup)


async def run(
    config: settings.Config,
    secrets: settings.Secrets,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
) -> int:
    """Run the bot until SIGTERM or SIGINT; return the exit code."""
    bot = Bot(config, secrets, kubeconfig=kubeconfig, context=context)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, bot.stopping.set)
    try:
        await bot.start()
        await bot.wait()
        logger.info("Stopping on request.")
    finally:
        await bot.stop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0


# -- adapters between the layers -----------------------------------------------


class ClusterObjects:
    """`bot.kube.OwnerResolver` in the shapes the handler and Slack ask for."""

    def __init__(self, resolver: kube.OwnerResolver) -> None:
        self._resolver = resolver

    async def read_object(self, *, kind: str, namespace: str, name: str) -> Mapping[str, Any]:
        api_version = resolving.DEFAULT_API_VERSIONS.get(kind, "v1")
        return await self._resolver.read(kube.ObjectRef(api_version, kind, name, namespace))

    async def read_namespace(self, name: str) -> Mapping[str, Any] | None:
        return await self._resolver.read(kube.ObjectRef("v1", "Namespace", name))


def classify_event(event: Mapping[str, Any]) -> list[object]:
    """What the handler wants of an Event: its rejections, or the admission a
    `SuccessfulCreate` reports (which resolves earlier messages)."""
    records: list[object] = [r for r in parsing.parse(event) if r.violations]
    if records:
        return records
    admission = admissions.find_admission(event)
    return [admission] if admission is not None else []


def _on_event(
    handler: RejectionHandler,
) -> Callable[[kube.Rejection[object]], Awaitable[None]]:
    async def handle(rejection: kube.Rejection[object]) -> None:
        received = time.perf_counter()
        await handler.handle(
            rejection.event, involved=rejection.involved, received=received, source="events"
        )

    return handle


def _as_payload(event: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The audit receiver's classifier: the handler reads events whole."""
    return [event]


def _on_audit(
    handler: RejectionHandler,
) -> Callable[[list[Mapping[str, Any]]], Awaitable[None]]:
    async def handle(events: list[Mapping[str, Any]]) -> None:
        received = time.perf_counter()
        for event in events:
            try:
                await handler.handle(event, received=received, source="audit")
            except TemporaryError as error:
                logger.warning(
                    "Could not handle audit event %s; its rejection goes unreported: %s",
                    event.get("auditID"),
                    error,
                )

    return handle


class CountingOutboxStore:
    """The outbox's store, counting deliveries and failures for /metrics."""

    def __init__(self, inner: OutboxStore, metrics: health.Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def outbox_instance(self) -> str:
        return self._inner.outbox_instance()

    def add_outbox_items(
        self,
        items: Sequence[NewItem],
        *,
        parts: Mapping[str, int] | None = None,
        files: Sequence[tuple[str, str]] = (),
        supersede: Sequence[str] = (),
        at: float,
    ) -> list[int]:
        return self._inner.add_outbox_items(
            items, parts=parts, files=files, supersede=supersede, at=at
        )

    def open_outbox_items(self) -> list[OutboxItem]:
        return self._inner.open_outbox_items()

    def get_outbox_item(self, item_id: int) -> OutboxItem | None:
        return self._inner.get_outbox_item(item_id)

    def get_outbox_message(self, key: str) -> MessageRecord | None:
        return self._inner.get_outbox_message(key)

    def has_outbox_file(self, key: str, digest: str) -> bool:
        return self._inner.has_outbox_file(key, digest)

    def start_outbox_item(self, item_id: int, *, at: float) -> None:
        self._inner.start_outbox_item(item_id, at=at)

    def release_outbox_item(self, item_id: int, *, error: str, maybe_sent: bool) -> None:
        self._inner.release_outbox_item(item_id, error=error, maybe_sent=maybe_sent)

    def finish_outbox_item(self, item_id: int, *, ts: str | None, at: float) -> None:
        self._inner.finish_outbox_item(item_id, ts=ts, at=at)
        self._metrics.outbox_sent.inc()

    def fail_outbox_item(self, item_id: int, *, error: str, at: float) -> None:
        self._inner.fail_outbox_item(item_id, error=error, at=at)
        self._metrics.outbox_failed.inc()

    def forget_outbox_items(self, *, before: float) -> int:
        return self._inner.forget_outbox_items(before=before)


def _store_probe(store: SQLiteNotificationGroups) -> health.Probe:
    async def probe() -> health.ProbeResult:
        try:
            store.get_sighting("policybot-readiness-probe")
        except PolicybotError as error:
            return health.ProbeResult(False, str(error))
        return health.ProbeResult(True, store.path)

    return probe


def _cluster_probe(resolver: kube.OwnerResolver) -> health.Probe:
    """Reachable means the API server answers; a 403 or 404 is an answer."""

    async def probe() -> health.ProbeResult:
        try:
            await resolver.read(kube.ObjectRef("v1", "Namespace", "default"))
        except TemporaryError as error:
            return health.ProbeResult(False, str(error))
        except PermanentError as error:
            return health.ProbeResult(True, f"API server answers ({error})")
        return health.ProbeResult(True, "API server answers")

    return probe


def _closing(close: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        close()

    return run


# -- policies ------------------------------------------------------------------


def load_policies(
    section: settings.PoliciesConfig,
) -> tuple[list[policies.Policy], list[celpolicies.CelPolicy]]:
    """The Kyverno and CEL policies of the bundled baseline and the paths."""
    paths: list[Path] = []
    if section.bundled:
        paths.extend(catalog.bundled_policy_paths())
    paths.extend(section.paths)
    if not paths:
        return [], []
    return policies.load_policies(paths), celpolicies.load(section.paths)


def load_fix_defaults(section: settings.FixDefaultsConfig) -> PlatformDefaults:
    """The platform defaults of the files: the configured ones, then the bundled.

    Raises:
        InputError: a file is not YAML or holds something other than objects.
    """
    found = platform_defaults.NO_DEFAULTS
    if section.paths:
        found = platform_defaults.load(section.paths)
    if section.bundled:
        bundled = platform_defaults.load(catalog.bundled_platform_paths())
        # NB: loaded apart, so that a default StorageClass of the paths wins.
        found = cluster_defaults.merged(found, bundled)
    files = ", ".join(found.sources) or "none"
    if section.cluster:
        logger.info("Platform defaults for fixes: the cluster's, then the files' (%s).", files)
    else:
        logger.info("Platform defaults for fixes: the files' only (%s).", files)
    return found


async def read_cluster_policies(api: Any) -> list[policies.Policy]:
    """The Kyverno ClusterPolicies and Policies installed in the cluster.

    Raises:
        AccessDeniedError: the bot may not list them; the message names the
            RBAC to grant.
    """
    found: list[policies.Policy] = []
    for path, kind in KYVERNO_POLICY_LISTS:
        action = f"list Kyverno {kind} objects ({path})"
        body = await clients.call(_get_json, api, path, action=action)
        items = body.get("items") if isinstance(body, Mapping) else None
        for index, item in enumerate(items or (), start=1):
            if not isinstance(item, dict):
                continue
            item.setdefault("apiVersion", "kyverno.io/v1")
            item.setdefault("kind", kind)
            document = documents.Document(source=f"cluster {kind}", index=index, content=item)
            try:
                found.append(policies.from_document(document))
            except PermanentError as error:
                logger.warning("Skipping a %s of the cluster that we cannot read: %s", kind, error)
    logger.info("Read %d Kyverno policies from the cluster.", len(found))
    return found


def _get_json(api: Any, path: str) -> Any:
    """GET a path of the API server with the client's credentials (blocking).

    NB: the client has no typed method for custom resources that returns raw
    JSON, so we build the request with its own serializer (which adds the
    credentials) and read the body ourselves.
    """
    method, url, headers, _body, _post = api.param_serialize(
        "GET", path, header_params={"Accept": "application/json"}, auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, header_params=headers)
    data = response.read()
    if response.status != 200:
        detail = clients.describe_status(data)
        message = f"Could not GET {path}: HTTP {response.status}"
        if detail:
            message += f": {detail}"
        if response.status == 404:
            message += ". Is Kyverno installed? If not, set policies.cluster to false"
        raise clients.error_for_status(response.status, message)
    return json.loads(data)
