"""The Slack side of the bot: the bolt app, its listeners, and its connection.

What a person can do in Slack, and how each request is answered:

- `/policy check <kind>/<namespace>/<name>`: read the live object (through an
  injected `LiveObjects`), evaluate it against the configured policies, and
  answer with the findings and their fixes, visible only to the asker.
- `/policy check` alone: open a modal to paste a manifest; its submission is
  checked the same way and answered ephemerally.
- `/policy explain <policy>[/<rule>]`, or `explain` with a pasted rejection.
- `/policy help`.
- The Re-check and Explain buttons of a rejection message (action ids from
  `bot.slack.messages`): Re-check reads the workload again and answers in the
  message's thread, so the team sees it; Explain answers only the clicker.

Slack gives a request 3 seconds. Every listener acknowledges first, with a
short "working on it" where the answer takes time, and only then reads the
cluster or runs the engine (in a worker thread, so the loop stays free for
other requests). Answers to commands and buttons go to the request's
`response_url`, which works in any channel, DMs included, without the bot
being a member; a modal submission has no `response_url` of its own, so the
command's is carried in the modal's private metadata.

Texts come from `bot.slack.command_texts`, and the ways an answer travels
from `bot.slack.replies`. The evaluation itself is a `Checker`
(`handlers.checking.Judge`, injected by the wiring), which holds no Slack
detail. `SlackConnection` runs the app in
Socket Mode (the default: an outbound WebSocket, no ingress) or HTTP mode
(bolt's aiohttp adapter behind an ingress; bolt verifies each request's
signature and answers 401 to a forged one).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import health
from bot.errors import InputError, PolicybotError, TemporaryError
from bot.intake import resolving, teams as registries
from bot.policy import documents
from bot.slack import command_texts as texts, messages, replies
from bot.slack.outbox import Outbox, Post
from bot.store.notifications import NotificationGroup

logger = logging.getLogger(__name__)

DEFAULT_EVENTS_PATH = "/slack/events"

# The kinds `check` reads, by every name kubectl accepts for them.
KIND_ALIASES: dict[str, str] = {
    **dict.fromkeys(("pod", "pods", "po"), "Pod"),
    **dict.fromkeys(("deployment", "deployments", "deploy"), "Deployment"),
    **dict.fromkeys(("replicaset", "replicasets", "rs"), "ReplicaSet"),
    **dict.fromkeys(("statefulset", "statefulsets", "sts"), "StatefulSet"),
    **dict.fromkeys(("daemonset", "daemonsets", "ds"), "DaemonSet"),
    **dict.fromkeys(("job", "jobs"), "Job"),
    **dict.fromkeys(("cronjob", "cronjobs", "cj"), "CronJob"),
    **dict.fromkeys(
        ("replicationcontroller", "replicationcontrollers", "rc"), "ReplicationController"
    ),
}
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


class LiveObjects(Protocol):
    """Reads one object from the cluster, as raw JSON (`bot.app` adapts
    `bot.kube.OwnerResolver`). Raises `PermanentError` when it is missing or
    hidden, `TemporaryError` when the cluster does not answer."""

    async def read_object(self, *, kind: str, namespace: str, name: str) -> Mapping[str, Any]: ...


class Checker(Protocol):
    """Evaluates manifests and explains rules (`handlers.checking.Judge`).

    Synchronous and possibly blocking; the listeners call it in a worker
    thread.
    """

    @property
    def policy_names(self) -> set[str]: ...

    def check(self, manifest: Mapping[str, Any], *, subject: str) -> texts.Verdict: ...

    def explain_rule(self, policy: str, rule: str | None) -> texts.Explanation | None: ...

    def explain_text(self, text: str) -> list[texts.Explanation]: ...


class GroupLookup(Protocol):
    """Finds the notification group a button's value names (the store)."""

    def get_group(self, key: str) -> NotificationGroup | None: ...


@dataclass(frozen=True)
class ObjectName:
    """What `check kind/namespace/name` names."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


def parse_object_name(text: str) -> ObjectName:
    """`deployment/shop/web` (any kubectl spelling of the kind).

    Raises:
        InputError: with a message fit to show the person who typed it.
    """
    parts = text.strip().split("/")
    if len(parts) != 3 or not all(parts):
        raise InputError(texts.not_an_object_name(text.strip()))
    kind_text, namespace, name = parts
    kind = KIND_ALIASES.get(kind_text.lower())
    if kind is None:
        raise InputError(texts.unknown_kind(kind_text, sorted(set(KIND_ALIASES.values()))))
    for part in (namespace, name):
        if not _NAME.fullmatch(part):
            raise InputError(texts.not_a_name(part))
    return ObjectName(kind, namespace, name)


# -- what a command names -----------------------------------------------------


def objects_in(text: str) -> list[dict[str, Any]]:
    """The Kubernetes objects of a pasted YAML or JSON stream, `List`s opened.

    Raises:
        InputError: not YAML, or holding no object with apiVersion and kind.
    """
    found: list[dict[str, Any]] = []
    for document in documents.parse_documents(text, source="the pasted manifest"):
        content = document.content
        items = content.get("items") if isinstance(content, dict) else None
        if isinstance(content, dict) and str(content.get("kind", "")).endswith("List"):
            candidates = items if isinstance(items, list) else []
        else:
            candidates = [content]
        found.extend(
            item
            for item in candidates
            if isinstance(item, dict) and item.get("apiVersion") and item.get("kind")
        )
    if not found:
        raise InputError(texts.no_objects_in_manifest())
    return found


def subject_of(manifest: Mapping[str, Any]) -> str:
    metadata = manifest.get("metadata") or {}
    namespace = metadata.get("namespace")
    name = metadata.get("name") or "(unnamed)"
    where = f"{namespace}/{name}" if namespace else str(name)
    return f"{manifest.get('kind', 'object')} {where}"


# -- the listeners -------------------------------------------------------------


class Listeners:
    """What the bot does for each command, submission and button.

    Args:
        command: the slash command's name, e.g. "/policy".
        judge: evaluates and explains.
        objects: reads live objects; None when no cluster is connected.
        groups: finds a rejection message's group for its buttons.
        outbox: delivers thread replies to Re-check; without one they are
            posted directly.
        metrics: counts commands and their latency.
    """

    def __init__(
        self,
        *,
        command: str,
        judge: Checker,
        objects: LiveObjects | None,
        groups: GroupLookup | None,
        outbox: Outbox | None = None,
        metrics: health.Metrics | None = None,
    ) -> None:
        self.command = command
        self.judge = judge
        self.objects = objects
        self.groups = groups
        self.outbox = outbox
        self.metrics = metrics or health.Metrics()

    # The slash command.

    async def on_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        started = time.monotonic()
        text = messages.unescape(str(command.get("text") or "")).strip()
        word, rest = (*text.split(maxsplit=1), "", "")[:2]
        word = word.lower()
        rest = rest.strip()
        log = _log_for(command, subcommand=word or "help")

        if word in ("", "help"):
            await ack(**replies.ephemeral(texts.help_reply(self.command)))
            outcome = "ok"
        elif word == "check" and not rest:
            # NB: the trigger_id expires 3 s after the command; open at once.
            await ack()
            outcome = await self._open_manifest_modal(client, command, respond, log)
        elif word == "check":
            outcome = await self._check_live(ack, respond, rest, log)
        elif word == "explain":
            outcome = await self._explain(ack, respond, rest, log)
        else:
            await ack(**replies.ephemeral(texts.unknown_subcommand(self.command, word)))
            outcome = "usage"
        self._count(word if word in ("check", "explain") else "help", outcome, started)
        log.info("Answered %s %s (%s).", self.command, word or "help", outcome)

    async def _check_live(
        self, ack: AsyncAck, respond: AsyncRespond, text: str, log: replies.Log
    ) -> str:
        try:
            target = parse_object_name(text)
        except InputError as error:
            await ack(**replies.ephemeral(texts.usage_error(self.command, str(error))))
            return "usage"
        if self.objects is None:
            await ack(**replies.ephemeral(texts.cluster_not_connected(self.command)))
            return "usage"
        await ack(response_type="ephemeral", text=texts.checking(str(target)))
        _add_context(log, namespace=target.namespace, kind=target.kind, object_name=target.name)

        # Slow from here on: the cluster, then the engine.
        try:
            live = await self.objects.read_object(
                kind=target.kind, namespace=target.namespace, name=target.name
            )
        except PolicybotError as error:
            log.info("Could not read %s for a check: %s", target, error)
            await replies.send(respond, texts.object_unavailable(str(target), str(error)))
            return "unavailable"
        try:
            manifest = resolving.clean(live)
            verdict = await asyncio.to_thread(self.judge.check, manifest, subject=str(target))
        except Exception:
            log.exception("Checking %s failed.", target)
            await replies.send(respond, texts.failed(f"check {target}"))
            return "failed"
        await replies.send(respond, texts.check_result(verdict))
        return "ok"

    async def _open_manifest_modal(
        self,
        client: AsyncWebClient,
        command: Mapping[str, Any],
        respond: AsyncRespond,
        log: replies.Log,
    ) -> str:
        metadata = replies.carry_metadata(command)
        try:
            await client.views_open(
                trigger_id=str(command.get("trigger_id") or ""),
                view=texts.manifest_modal(private_metadata=metadata),
            )
        except SlackApiError as error:
            log.error(
                "Could not open the manifest modal (views.open: %s); the asker was told to retry.",
                replies.slack_error(error),
            )
            await replies.send(respond, texts.failed("open the manifest dialog"))
            return "failed"
        return "ok"

    async def _explain(
        self, ack: AsyncAck, respond: AsyncRespond, text: str, log: replies.Log
    ) -> str:
        if not text:
            await ack(**replies.ephemeral(texts.nothing_to_explain(self.command)))
            return "usage"
        await ack(response_type="ephemeral", text=texts.working("Looking it up"))
        try:
            reply = await asyncio.to_thread(self._explanation_for, text)
        except Exception:
            log.exception("Explaining a %d-character text failed.", len(text))
            await replies.send(respond, texts.failed("explain that"))
            return "failed"
        await replies.send(respond, reply)
        return "ok"

    def _explanation_for(self, text: str) -> texts.Reply:
        # A single word is a policy, or policy/rule; anything else is pasted.
        if re.fullmatch(r"[\w.-]+(/[\w.-]+)?", text):
            policy, _, rule = text.partition("/")
            found = self.judge.explain_rule(policy, rule or None)
            if found is not None:
                return texts.explanation(found)
            return texts.unknown_policy(self.command, text, self.judge.policy_names)
        explained = self.judge.explain_text(text)
        if explained:
            return texts.explanations(explained)
        return texts.unknown_policy(self.command, text[:80], self.judge.policy_names)

    # The manifest modal.

    async def on_manifest_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        started = time.monotonic()
        log = _log_for(body, subcommand="check-manifest")
        values = view.get("state", {}).get("values", {})
        field = values.get(texts.MANIFEST_BLOCK, {}).get(texts.MANIFEST_INPUT, {})
        text = str(field.get("value") or "")

        # Reading the YAML is fast; a problem goes back under the input box.
        try:
            objects = objects_in(text)
        except InputError as error:
            problem = texts.manifest_problem(error.problem)
            await ack(response_action="errors", errors={texts.MANIFEST_BLOCK: problem})
            self._count("check", "usage", started)
            return
        await ack()

        metadata = replies.carried_metadata(view)
        try:
            verdicts = await asyncio.to_thread(self._check_all, objects)
            reply = texts.results_for_pasted(verdicts)
            outcome = "ok"
        except Exception:
            log.exception("Checking a pasted manifest of %d objects failed.", len(objects))
            reply, outcome = texts.failed("check the pasted manifest"), "failed"
        user = str((body.get("user") or {}).get("id") or "")
        await replies.answer_privately(client, reply, metadata=metadata, user=user, log=log)
        self._count("check", outcome, started)
        log.info("Checked a pasted manifest of %d objects (%s).", len(objects), outcome)

    def _check_all(self, objects: Sequence[Mapping[str, Any]]) -> list[texts.Verdict]:
        verdicts = []
        for obj in objects:
            manifest = resolving.clean(obj)
            verdicts.append(self.judge.check(manifest, subject=subject_of(manifest)))
        return verdicts

    # The buttons of a rejection message.

    async def on_recheck(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        started = time.monotonic()
        log = _log_for(body, subcommand="recheck")
        found = await self._button_notice(action, respond, command="recheck", started=started)
        if found is None:
            return
        group, notice = found
        workload = notice.workload
        subject = str(workload)
        _add_context(
            log,
            namespace=workload.namespace or "",
            kind=workload.kind,
            object_name=workload.name,
            policy_id=f"{notice.policy}/{notice.rule}",
        )
        reply, outcome = await self._recheck(notice, body, log)
        if outcome != "ok":
            await replies.send(respond, reply)
        elif self.outbox is not None:
            # The outbox paces it with the channel's other messages, and
            # threads it under the group's latest message once that is posted.
            thread = Post(
                channel=group.channel,
                text=reply.text,
                blocks=reply.blocks,
                thread_key=group.message_key,
            )
            await self.outbox.enqueue(thread)
        else:
            await replies.reply_in_thread(client, body, reply, respond=respond, log=log)
        self._count("recheck", outcome, started)
        log.info("Re-checked %s for %s/%s (%s).", subject, notice.policy, notice.rule, outcome)

    async def _recheck(
        self, notice: messages.Notice, body: Mapping[str, Any], log: replies.Log
    ) -> tuple[texts.Reply, str]:
        workload = notice.workload
        subject = str(workload)
        if self.objects is None:
            return texts.recheck_unavailable(subject, texts.NO_CLUSTER), "usage"
        if notice.policy not in self.judge.policy_names:
            reason = texts.foreign_policy(notice.policy)
            return texts.recheck_unavailable(subject, reason), "usage"
        try:
            live = await self.objects.read_object(
                kind=workload.kind, namespace=workload.namespace or "", name=workload.name
            )
            verdict = await asyncio.to_thread(
                self.judge.check, resolving.clean(live), subject=subject
            )
        except PolicybotError as error:
            log.info("Could not re-check %s: %s", subject, error)
            return texts.recheck_unavailable(subject, str(error)), "unavailable"
        except Exception:
            log.exception("Re-checking %s failed.", subject)
            return texts.failed(f"re-check {subject}"), "failed"
        rule = "/".join(p for p in (notice.policy, notice.rule) if p)
        failing = any(
            f.policy == notice.policy and notice.rule in (None, f.rule, f.base_rule)
            for f in verdict.findings
            if f.status in ("fail", "error")
        )
        user = str((body.get("user") or {}).get("id") or "")
        reply = texts.recheck_result(
            user=user, subject=subject, rule=rule, passes=not failing, verdict=verdict
        )
        return reply, "ok"

    async def on_explain(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        started = time.monotonic()
        log = _log_for(body, subcommand="explain-button")
        stored = await self._button_notice(action, respond, command="explain", started=started)
        if stored is None:
            return
        notice = stored[1]
        found = None
        if notice.policy is not None:
            found = await asyncio.to_thread(self.judge.explain_rule, notice.policy, notice.rule)
        if found is None:
            found = texts.Explanation(
                policy=notice.policy or "",
                rule=notice.rule,
                title=notice.title,
                why=notice.why,
                how_to_fix=notice.how_to_fix,
                references=notice.references,
                exception=notice.exception,
            )
        await replies.send(respond, texts.explanation(found))
        self._count("explain", "ok", started)
        log.info("Explained %s/%s to a reader of %s.", notice.policy, notice.rule, notice.workload)

    async def on_exception_request(
        self, ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        # NB: the exception flow is not built yet; answer with who decides
        # rather than leave the button silent.
        await ack()
        started = time.monotonic()
        stored = await self._button_notice(action, respond, command="exception", started=started)
        if stored is None:
            return
        notice = stored[1]
        await replies.send(
            respond, texts.exception_request(notice.policy, notice.rule, notice.exception)
        )
        self._count("exception", "ok", started)
        _log_for(body, subcommand="exception-button").info(
            "Answered an exception request for %s/%s.", notice.policy, notice.rule
        )

    async def _button_notice(
        self, action: dict[str, Any], respond: AsyncRespond, *, command: str, started: float
    ) -> tuple[NotificationGroup, messages.Notice] | None:
        """The notice a button belongs to; None, after telling the user, when it is gone."""
        found = self._notice(str(action.get("value") or ""))
        if found is None:
            await replies.send(respond, texts.notice_gone())
            self._count(command, "gone", started)
        return found

    def _notice(self, key: str) -> tuple[NotificationGroup, messages.Notice] | None:
        """The group a button names, and what its message says."""
        if self.groups is None or not key:
            return None
        group = self.groups.get_group(key)
        if group is None:
            return None
        try:
            return group, messages.Notice.from_json(json.loads(group.notice))
        except (ValueError, TypeError, KeyError):
            logger.exception("The stored notice of group %s is unreadable.", key)
            return None

    def _count(self, command: str, outcome: str, started: float) -> None:
        self.metrics.commands_handled.inc(command=command, outcome=outcome)
        self.metrics.latency.observe(time.monotonic() - started, kind="command")


def _log_for(payload: Mapping[str, Any], *, subcommand: str) -> replies.Log:
    """A logger whose records say who asked what; never the text itself."""
    user = payload.get("user_id") or (payload.get("user") or {}).get("id") or ""
    team = payload.get("team_id") or (payload.get("team") or {}).get("id") or ""
    extra: dict[str, Any] = {"command": subcommand, "slack_user": user, "slack_team": team}
    return logging.LoggerAdapter(logger, extra)


def _add_context(log: replies.Log, **fields: str) -> None:
    """Add what the request turned out to be about to the log records' extra."""
    log.extra = {**(log.extra or {}), **fields}


# -- the app and its connection ------------------------------------------------


def make_client(token: str, *, base_url: str | None = None) -> AsyncWebClient:
    """The Web API client for the bot token; `base_url` for a proxy or a fake."""
    if base_url is None:
        return AsyncWebClient(token=token)
    return AsyncWebClient(token=token, base_url=base_url.rstrip("/") + "/")


def build_app(
    listeners: Listeners, *, client: AsyncWebClient, signing_secret: str | None
) -> AsyncApp:
    """The bolt app, with every listener registered.

    Args:
        listeners: what each request does.
        client: the Web API client (bot token) for listeners and auth.test.
        signing_secret: HTTP mode verifies requests with it; None in Socket
            Mode, where the WebSocket itself is authenticated.
    """
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
        name="policybot",
        logger=logging.getLogger("bot.slack.bolt"),
    )
    app.command(listeners.command)(listeners.on_command)
    app.view(texts.CHECK_MODAL)(listeners.on_manifest_submitted)
    app.action(messages.RECHECK_ACTION)(listeners.on_recheck)
    app.action(messages.EXPLAIN_ACTION)(listeners.on_explain)
    app.action(messages.EXCEPTION_ACTION)(listeners.on_exception_request)
    return app


def make_http_app(app: AsyncApp, *, path: str = DEFAULT_EVENTS_PATH) -> web.Application:
    """HTTP mode: Slack POSTs commands and interactions to `path`."""

    async def handle(request: web.Request) -> web.Response:
        response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    http = web.Application()
    http.router.add_post(path, handle)
    return http


class SlackConnection:
    """Keeps the app connected to Slack: Socket Mode or an HTTP listener.

    Args:
        app: from `build_app`.
        mode: "socket" or "http".
        app_token: the xapp- token; Socket Mode only.
        host, port, path: where HTTP mode listens.
    """

    def __init__(
        self,
        app: AsyncApp,
        *,
        mode: str,
        app_token: str | None = None,
        host: str = "0.0.0.0",
        port: int = 3000,
        path: str = DEFAULT_EVENTS_PATH,
    ) -> None:
        if mode == "socket" and not app_token:
            raise PolicybotError("Socket Mode needs the app-level token (SLACK_APP_TOKEN).")
        self.app = app
        self.mode = mode
        self._app_token = app_token or ""
        self._host, self._port, self._path = host, port, path
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None

    @property
    def addresses(self) -> list[Any]:
        return list(self._runner.addresses) if self._runner is not None else []

    async def start(self) -> None:
        if self.mode == "socket":
            # NB: the SDK retries a refused connection forever, logging each
            # time; asking once ourselves turns a bad token into an error.
            try:
                await self.app.client.apps_connections_open(app_token=self._app_token)
            except SlackApiError as error:
                raise PolicybotError(
                    f"Slack refused to open a Socket Mode connection "
                    f"({replies.slack_error(error)}); check that SLACK_APP_TOKEN is the "
                    "app-level token with connections:write and that Socket Mode is enabled."
                ) from error
            except aiohttp.ClientError as error:
                raise TemporaryError(
                    f"Slack cannot be reached to open a Socket Mode connection ({error}); "
                    "check the network path to slack.com."
                ) from error
            self._socket = AsyncSocketModeHandler(self.app, self._app_token)
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
            logger.info("Connected to Slack in Socket Mode.")
            return
        self._runner = web.AppRunner(make_http_app(self.app, path=self._path), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        logger.info("Receiving Slack requests on %s%s.", self.addresses, self._path)

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def probe(client: AsyncWebClient) -> health.ProbeResult:
    """Readiness: does Slack accept the bot token (`auth.test`)?"""
    try:
        answer = await client.auth_test()
    except SlackApiError as error:
        return health.ProbeResult(False, f"auth.test failed: {replies.slack_error(error)}")
    except (aiohttp.ClientError, TimeoutError) as error:
        return health.ProbeResult(False, f"Slack unreachable: {type(error).__name__}: {error}")
    return health.ProbeResult(True, f"team {answer.get('team')}, bot user {answer.get('user')}")


async def resolve_oncall_groups(
    client: AsyncWebClient, registry: registries.Registry
) -> registries.Registry:
    """The registry with on-call handles (`@payments-oncall`) replaced by
    user group IDs, which is what makes a mention notify anyone.

    Without the `usergroups:read` scope, or with handles Slack does not know,
    the handles stay as they are and a warning names what to fix.
    """
    wanted = {team.oncall for team in registry if team.oncall and team.oncall.startswith("@")}
    if not wanted:
        return registry
    try:
        answer = await client.usergroups_list()
    except SlackApiError as error:
        logger.warning(
            "Cannot look up the on-call user groups (%s); mentions of %s will not notify "
            "anyone. Add the usergroups:read scope or give group IDs in the team registry.",
            replies.slack_error(error),
            ", ".join(sorted(wanted)),
        )
        return registry
    ids = {f"@{group.get('handle')}": str(group.get("id")) for group in answer["usergroups"]}
    unknown = sorted(wanted - ids.keys())
    if unknown:
        logger.warning(
            "No Slack user group has the handle %s; fix the team registry.", ", ".join(unknown)
        )
    teams = tuple(
        team.model_copy(update={"oncall": ids[team.oncall]}) if team.oncall in ids else team
        for team in registry
    )
    data = registries.RegistryFile(
        teams=teams, default_team=registry.default.name, lookup=registry.lookup
    )
    return registries.Registry(data)
