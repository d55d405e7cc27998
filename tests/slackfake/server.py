"""A fake of the Slack Web API, served over real HTTP on 127.0.0.1.

Tests drive the real `slack_sdk.web.async_client.AsyncWebClient` against it
(`base_url=fake.base_url`), so requests cross the SDK's own encoding: JSON
bodies for chat.* and views.*, query strings for most other methods, a raw
POST to the upload URL. Nothing in slack_sdk or aiohttp is patched.

It behaves like Slack where our code depends on it:

- the bearer token is checked (`not_authed`, `invalid_auth`);
- channels exist or not (`channel_not_found`), can be archived or private,
  and the bot is a member or not (`not_in_channel`); joining a public
  channel works, a private one does not;
- Block Kit limits are enforced as Slack words them (`invalid_blocks` with
  `errors` naming the JSON pointer, `msg_too_long`, `no_text`);
- ts values are real epoch seconds with six decimals, strictly increasing;
- message metadata is kept and returned with `include_all_metadata`;
- the file upload flow is the one `files_upload_v2` uses: a URL from
  files.getUploadURLExternal, a POST of the bytes there, then
  files.completeUploadExternal shares the file as a message.

Every call is recorded in `calls`. Failures are scripted per method with
`fail_next`: a 429 with `Retry-After`, a 5xx, an `ok: false` error, a
dropped connection, and each of these either before or after the method
took effect (after: the message is posted but the answer is lost).

Its own limits are written out here on purpose, not imported from the bot,
so a mistake in `bot.slack.blocks` cannot hide behind a matching one here.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

__all__ = ["BOT_USER", "TOKEN", "Call", "Channel", "Failure", "FakeSlack", "block_errors"]

TOKEN = "xoxb-fake-0000-policybot"
BOT_USER = "U0POLICYBOT"
BOT_ID = "B0POLICYBOT"
TEAM = "T0FAKETEAM"

# Slack's limits, as its documentation and error messages give them.
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100
TEXT_CHARS = 40_000
SECTION_TEXT = 3000
SECTION_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
CONTEXT_ELEMENTS = 10
CONTEXT_TEXT = 2000
ACTIONS_ELEMENTS = 25
BLOCK_ID = 255
KNOWN_BLOCKS = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Call:
    """One request as the fake received and answered it."""

    method: str
    args: dict[str, Any]
    status: int
    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class Failure:
    """A scripted failure for the next call to a method.

    `status` 200 with an `error` gives Slack's `ok: false` answer; 429 comes
    with `Retry-After`; 5xx is Slack's trouble. `after` lets the call take
    effect first, so the message exists but its answer is lost.
    `disconnect` drops the connection instead of answering at all.
    """

    status: int = 500
    error: str = "internal_error"
    retry_after: float | None = None
    after: bool = False
    disconnect: bool = False
    stall: bool = False
    """Hang before answering, until the fake stops: the caller can be killed
    mid-call. `stalled` is set once a call hangs."""

    @classmethod
    def rate_limited(cls, retry_after: float = 30) -> Failure:
        return cls(status=429, error="ratelimited", retry_after=retry_after)

    @classmethod
    def refusal(cls, error: str) -> Failure:
        return cls(status=200, error=error)

    @classmethod
    def lost_answer(cls) -> Failure:
        """The call takes effect, then the connection drops."""
        return cls(after=True, disconnect=True)

    @classmethod
    def hang_after(cls) -> Failure:
        """The call takes effect, then no answer comes while the test runs."""
        return cls(after=True, disconnect=True, stall=True)


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    is_archived: bool = False
    is_member: bool = True
    messages: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": not self.is_private,
            "is_group": self.is_private,
            "is_private": self.is_private,
            "is_archived": self.is_archived,
            "is_member": self.is_member,
        }

    def find(self, ts: str) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)


class _Refusal(Exception):
    """Ends a method with Slack's `ok: false` and an error code."""

    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class FakeSlack:
    """The fake server; use it as `async with FakeSlack() as slack:`."""

    def __init__(self, *, token: str = TOKEN, clock: Callable[[], float] = time.time) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.channels: dict[str, Channel] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.usergroups: dict[str, list[str]] = {}
        self.ephemerals: list[dict[str, Any]] = []
        self.files: dict[str, dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self._clock = clock
        self._last_ts = 0.0
        self._failures: dict[str, collections.deque[Failure]] = collections.defaultdict(
            collections.deque
        )
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._released = asyncio.Event()
        self.stalled = asyncio.Event()
        self._root = ""
        self._methods: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "conversations.history": self._history,
            "conversations.info": self._conversation_info,
            "conversations.join": self._join,
            "conversations.list": self._conversation_list,
            "conversations.replies": self._replies,
            "files.completeUploadExternal": self._complete_upload,
            "files.getUploadURLExternal": self._upload_url,
            "usergroups.users.list": self._usergroup_users,
            "users.info": self._user_info,
            "views.open": self._open_view,
            "views.update": self._update_view,
        }
        self.add_user(BOT_USER, "policybot", is_bot=True)

    # -- running -----------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        app = web.Application(client_max_size=10 * 1024 * 1024)
        app.router.add_post("/api/{method}", self._serve_method)
        app.router.add_get("/api/{method}", self._serve_method)
        app.router.add_post("/upload/v1/{file_id}", self._serve_upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self._root = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *_: object) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"{self._root}/api/"

    def client(self, *, token: str | None = None, timeout: int = 5) -> AsyncWebClient:
        """A real client pointed here, with no retries of its own."""
        return AsyncWebClient(
            token=token or self.token, base_url=self.base_url, timeout=timeout, retry_handlers=[]
        )

    # -- scripting ---------------------------------------------------------

    def add_channel(
        self,
        name: str,
        *,
        id: str | None = None,
        private: bool = False,
        archived: bool = False,
        member: bool = True,
    ) -> str:
        channel_id = id or f"C{next(self._ids):08d}"
        self.channels[channel_id] = Channel(
            id=channel_id, name=name, is_private=private, is_archived=archived, is_member=member
        )
        return channel_id

    def add_user(self, user_id: str, name: str, **profile: Any) -> None:
        self.users[user_id] = {"id": user_id, "team_id": TEAM, "name": name, **profile}

    def add_usergroup(self, group_id: str, users: list[str]) -> None:
        self.usergroups[group_id] = list(users)

    def fail_next(self, method: str, *failures: Failure) -> None:
        """Queue failures for the next calls to `method` ("upload": the URL)."""
        self._failures[method].extend(failures)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message in `channel`, thread replies included, oldest first."""
        return list(self.channels[channel].messages)

    # -- the HTTP side -----------------------------------------------------

    async def _serve_method(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        args = await _read_args(request)
        failure = self._next_failure(method)

        # Failures scripted to happen before the method takes effect.
        if failure is not None and not failure.after:
            return self._fail(request, method, args, failure)

        status, body = 200, self._answer(request, method, args)
        if failure is not None:
            if failure.stall:
                self.stalled.set()
                await self._released.wait()
            return self._fail(request, method, args, failure)
        self.calls.append(Call(method, args, status, body["ok"], body.get("error")))
        return web.json_response(body, status=status)

    async def _serve_upload(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        data = await request.read()
        args = {"file_id": file_id, "length": len(data)}
        failure = self._next_failure("upload")
        if failure is not None:
            self.calls.append(Call("upload", args, failure.status, False, failure.error))
            if failure.disconnect:
                _drop(request)
            return web.Response(status=failure.status, text=failure.error)
        if file_id not in self.files:
            self.calls.append(Call("upload", args, 404, False, "file_not_found"))
            return web.Response(status=404, text="file_not_found")
        self.files[file_id]["content"] = data
        self.calls.append(Call("upload", args, 200, True))
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")

    def _answer(self, request: web.Request, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = self._methods.get(method)
        try:
            self._check_token(request, args)
            if handler is None:
                raise _Refusal("unknown_method")
            return {"ok": True, **handler(args)}
        except _Refusal as refusal:
            return {"ok": False, "error": refusal.error, **refusal.extra}

    def _fail(
        self, request: web.Request, method: str, args: dict[str, Any], failure: Failure
    ) -> web.StreamResponse:
        self.calls.append(Call(method, args, failure.status, False, failure.error))
        if failure.disconnect:
            _drop(request)
            return web.Response(status=500)
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        body = {"ok": False, "error": failure.error}
        return web.json_response(body, status=failure.status, headers=headers)

    def _next_failure(self, method: str) -> Failure | None:
        queue = self._failures.get(method)
        return queue.popleft() if queue else None

    def _check_token(self, request: web.Request, args: dict[str, Any]) -> None:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header else args.get("token")
        if not token:
            raise _Refusal("not_authed")
        if token != self.token:
            raise _Refusal("invalid_auth")

    # -- methods -----------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "policybot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(args.get("channel"))
        text, blocks = self._content(args)
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": text,
            "ts": self._new_ts(),
        }
        if blocks is not None:
            message["blocks"] = blocks
        if args.get("thread_ts"):
            parent = channel.find(str(args["thread_ts"]))
            if parent is None:
                raise _Refusal("thread_not_found")
            message["thread_ts"] = parent.get("thread_ts", parent["ts"])
        if isinstance(args.get("metadata"), dict):
            message["metadata"] = args["metadata"]
        channel.messages.append(message)
        return {"channel": channel.id, "ts": message["ts"], "message": _public(message)}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        message = channel.find(str(args.get("ts")))
        if message is None:
            raise _Refusal("message_not_found")
        if message.get("user") != BOT_USER:
            raise _Refusal("cant_update_message")
        text, blocks = self._content(args)
        message["text"] = text
        if blocks is not None:
            message["blocks"] = blocks
        message["edited"] = {"user": BOT_USER, "ts": self._new_ts()}
        return {"channel": channel.id, "ts": message["ts"], "text": text, "message": message}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._writable(args.get("channel"))
        if args.get("user") not in self.users:
            raise _Refusal("user_not_in_channel")
        text, blocks = self._content(args)
        ts = self._new_ts()
        self.ephemerals.append(
            {"channel": channel.id, "user": args["user"], "text": text, "blocks": blocks, "ts": ts}
        )
        return {"message_ts": ts}

    def _history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if not channel.is_member:
            raise _Refusal("not_in_channel")
        top = [m for m in channel.messages if m.get("thread_ts", m["ts"]) == m["ts"]]
        return self._page(list(reversed(top)), args)

    def _replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        ts = str(args.get("ts"))
        thread = [m for m in channel.messages if m.get("thread_ts", m["ts"]) == ts]
        if not thread:
            raise _Refusal("thread_not_found")
        return self._page(thread, args)

    def _conversation_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": self._channel(args.get("channel")).describe()}

    def _conversation_list(self, args: dict[str, Any]) -> dict[str, Any]:
        types = str(args.get("types") or "public_channel").split(",")
        excluded = _truthy(args.get("exclude_archived"))
        found = [
            c.describe()
            for c in self.channels.values()
            if ("private_channel" if c.is_private else "public_channel") in types
            and not (excluded and c.is_archived)
        ]
        return self._page(found, args, name="channels")

    def _join(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(args.get("channel"))
        if channel.is_archived:
            raise _Refusal("is_archived")
        if channel.is_private:
            raise _Refusal("method_not_supported_for_channel_type")
        channel.is_member = True
        return {"channel": channel.describe()}

    def _open_view(self, args: dict[str, Any]) -> dict[str, Any]:
        if not str(args.get("trigger_id") or "").strip():
            raise _Refusal("invalid_trigger_id")
        view = self._view(args)
        view_id = f"V{next(self._ids):08d}"
        self.views[view_id] = {**view, "id": view_id, "hash": self._new_ts()}
        return {"view": self.views[view_id]}

    def _update_view(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = args.get("view_id") or next(
            (
                v["id"]
                for v in self.views.values()
                if v.get("external_id") == args.get("external_id")
            ),
            None,
        )
        if view_id not in self.views:
            raise _Refusal("not_found")
        if args.get("hash") and args["hash"] != self.views[view_id]["hash"]:
            raise _Refusal("hash_conflict")
        self.views[view_id] = {**self._view(args), "id": view_id, "hash": self._new_ts()}
        return {"view": self.views[view_id]}

    def _user_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            raise _Refusal("user_not_found")
        return {"user": user}

    def _usergroup_users(self, args: dict[str, Any]) -> dict[str, Any]:
        users = self.usergroups.get(str(args.get("usergroup")))
        if users is None:
            raise _Refusal("no_such_subteam")
        return {"users": users}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("filename") or not str(args.get("length") or "").isdigit():
            raise _Refusal("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"id": file_id, "name": args["filename"], "content": None}
        return {"upload_url": f"{self._root}/upload/v1/{file_id}", "file_id": file_id}

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        entries = json.loads(files) if isinstance(files, str) else files
        if not isinstance(entries, list) or not entries:
            raise _Refusal("invalid_arguments")
        shared = []
        for entry in entries:
            stored = self.files.get(entry.get("id"))
            if stored is None or stored["content"] is None:
                raise _Refusal("file_not_found")
            stored["title"] = entry.get("title") or stored["name"]
            shared.append({k: v for k, v in stored.items() if k != "content"})

        # Sharing in a channel posts a message that carries the files.
        if args.get("channel_id"):
            channel = self._writable(args["channel_id"])
            message: dict[str, Any] = {
                "type": "message",
                "subtype": "file_share",
                "user": BOT_USER,
                "text": args.get("initial_comment") or "",
                "files": shared,
                "ts": self._new_ts(),
            }
            if args.get("thread_ts"):
                message["thread_ts"] = str(args["thread_ts"])
            channel.messages.append(message)
        return {"files": shared}

    # -- helpers -----------------------------------------------------------

    def _channel(self, ref: Any) -> Channel:
        ref = str(ref or "")
        by_name = {f"#{c.name}": c for c in self.channels.values()}
        channel = self.channels.get(ref) or by_name.get(ref)
        if channel is None:
            raise _Refusal("channel_not_found")
        return channel

    def _writable(self, ref: Any) -> Channel:
        channel = self._channel(ref)
        if channel.is_archived:
            raise _Refusal("is_archived")
        if not channel.is_member:
            raise _Refusal("not_in_channel")
        return channel

    def _content(self, args: dict[str, Any]) -> tuple[str, list[Any] | None]:
        text = str(args.get("text") or "")
        blocks = args.get("blocks")
        if isinstance(blocks, str):
            try:
                blocks = json.loads(blocks)
            except ValueError:
                raise _Refusal("invalid_blocks_format") from None
        if blocks is not None and not isinstance(blocks, list):
            raise _Refusal("invalid_blocks_format")
        if not text.strip() and not blocks:
            raise _Refusal("no_text")
        if len(text) > TEXT_CHARS:
            raise _Refusal("msg_too_long")
        if blocks:
            problems = block_errors(blocks, limit=MESSAGE_BLOCKS)
            if problems:
                raise _Refusal("invalid_blocks", errors=problems)
        return text, blocks

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        view = args.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            raise _Refusal("invalid_arguments")
        problems = block_errors(view.get("blocks") or [], limit=VIEW_BLOCKS)
        if problems:
            raise _Refusal("invalid_arguments", response_metadata={"messages": problems})
        return view

    def _page(
        self, items: list[dict[str, Any]], args: dict[str, Any], *, name: str = "messages"
    ) -> dict[str, Any]:
        """One page of `items`, filtered by oldest/latest where they have a ts."""
        oldest = float(args.get("oldest") or 0)
        latest = float(args.get("latest") or "inf")
        if name == "messages":
            include_metadata = _truthy(args.get("include_all_metadata"))
            items = [
                m if include_metadata else {k: v for k, v in m.items() if k != "metadata"}
                for m in items
                if oldest <= float(m["ts"]) <= latest
            ]
        start = int(args.get("cursor") or 0)
        limit = int(args.get("limit") or 100)
        page = items[start : start + limit]
        more = start + limit < len(items)
        return {
            name: page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _new_ts(self) -> str:
        """Epoch seconds with microseconds, like Slack's, never repeated."""
        self._last_ts = max(self._clock(), self._last_ts + 0.000001)
        return f"{self._last_ts:.6f}"


def block_errors(blocks: list[Any], *, limit: int) -> list[str]:
    """What Slack would say about these blocks; empty when it takes them."""
    if len(blocks) > limit:
        return [f"no more than {limit} items allowed [json-pointer:/blocks]"]
    problems: list[str] = []
    seen_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"/blocks/{index}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            problems.append(f"unsupported type: {block!r:.40} [json-pointer:{where}/type]")
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > BLOCK_ID or block_id in seen_ids:
                problems.append(f"invalid or duplicate block_id [json-pointer:{where}/block_id]")
            seen_ids.add(str(block_id))
        problems.extend(_block_problems(block, where))
    return problems


def _block_problems(block: dict[str, Any], where: str) -> Iterator[str]:
    kind = block["type"]
    if kind == "section":
        if "text" not in block and "fields" not in block:
            yield f"must provide text or fields [json-pointer:{where}]"
        if "text" in block:
            yield from _text_problems(block["text"], SECTION_TEXT, f"{where}/text")
        fields = block.get("fields") or []
        if len(fields) > SECTION_FIELDS:
            yield f"no more than {SECTION_FIELDS} items allowed [json-pointer:{where}/fields]"
        for number, item in enumerate(fields):
            yield from _text_problems(item, FIELD_TEXT, f"{where}/fields/{number}")
    elif kind == "header":
        text = block.get("text")
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            yield f"must be a plain_text object [json-pointer:{where}/text]"
        else:
            yield from _text_problems(text, HEADER_TEXT, f"{where}/text")
    elif kind == "context":
        elements = block.get("elements") or []
        if not elements or len(elements) > CONTEXT_ELEMENTS:
            yield f"must have 1 to {CONTEXT_ELEMENTS} items [json-pointer:{where}/elements]"
        for number, item in enumerate(elements):
            if isinstance(item, dict) and item.get("type") in ("mrkdwn", "plain_text"):
                yield from _text_problems(item, CONTEXT_TEXT, f"{where}/elements/{number}")
    elif kind == "actions":
        elements = block.get("elements") or []
        if not elements or len(elements) > ACTIONS_ELEMENTS:
            yield f"must have 1 to {ACTIONS_ELEMENTS} items [json-pointer:{where}/elements]"


def _text_problems(item: Any, limit: int, where: str) -> Iterator[str]:
    if not isinstance(item, dict) or item.get("type") not in ("mrkdwn", "plain_text"):
        yield f"must be a text object [json-pointer:{where}]"
        return
    text = item.get("text")
    if not isinstance(text, str) or not text:
        yield f"must be more than 0 characters [json-pointer:{where}/text]"
    elif len(text) > limit:
        yield f"must be less than {limit + 1} characters [json-pointer:{where}/text]"


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Merge the query string and the body, as Slack does."""
    args: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            args.update(body)
    elif request.can_read_body:
        args.update((await request.post()).items())
    return args


def _drop(request: web.Request) -> None:
    """Close the connection without answering: the client sees it drop."""
    if request.transport is not None:
        request.transport.close()


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "metadata"}


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true")
