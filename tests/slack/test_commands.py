"""What `/policy`, its modal and the message buttons answer, end to end.

Each request is signed as Slack signs it and POSTed to the bolt app in HTTP
mode; answers are read where Slack would receive them: the HTTP response
(the acknowledgement), the `response_url` catcher, and the fake Web API.
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.errors import PermanentError
from bot.health import Metrics
from bot.knowledge.catalog import bundled_policy_paths, load_catalog
from bot.notify.grouping import Grouper, GroupKey
from bot.policy import policies
from bot.slack import app as slack_app, command_texts, messages
from bot.store.sqlite_notifications import SQLiteNotificationGroups
from handlers import checking
from tests.scenarios.slackrequests import (
    CHANNEL,
    USER,
    BoltOverHTTP,
    submission_payload,
    texts_of,
)
from tests.slackfake import Failure, FakeSlack

OBJECTS: dict[tuple[str, str, str], dict[str, Any]] = {
    ("Deployment", "shop", "web"): {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "0f1e",
            "resourceVersion": "4711",
            "managedFields": [{"manager": "kubectl"}],
            "labels": {"app.kubernetes.io/name": "web", "team": "shop"},
        },
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {
                    "labels": {"app": "web", "app.kubernetes.io/name": "web", "team": "shop"}
                },
                "spec": {
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx:1.27",
                            "env": [{"name": "MODE", "value": "production"}],
                            "securityContext": {"allowPrivilegeEscalation": False},
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"memory": "64Mi"},
                            },
                        }
                    ],
                },
            },
        },
        "status": {"replicas": 0},
    },
}
COMPLIANT = """\
apiVersion: v1
kind: Pod
metadata:
  name: ok
  namespace: shop
  labels: {app.kubernetes.io/name: ok, team: shop}
spec:
  securityContext: {runAsNonRoot: true}
  containers:
    - name: ok
      image: nginx:1.27
      securityContext: {allowPrivilegeEscalation: false}
      resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 16Mi}}
"""
REJECTION = (
    'Error from server: error when creating "web.yaml": admission webhook '
    '"validate.kyverno.svc-fail" denied the request: \n\n'
    "resource Deployment/shop/web was blocked due to the following policies \n\n"
    "disallow-latest-tag:\n"
    '  autogen-forbid-latest-tag: \'validation error: The image tag "latest" is not allowed. '
    "Pin a version tag or a digest. rule autogen-forbid-latest-tag failed at path "
    "/spec/template/spec/containers/0/image/'\n"
)


class Objects:
    """Live objects by (kind, namespace, name), as the cluster layer returns them."""

    def __init__(self, objects: Mapping[tuple[str, str, str], dict[str, Any]]) -> None:
        self.objects = copy.deepcopy(dict(objects))
        self.reads: list[tuple[str, str, str]] = []

    async def read_object(self, *, kind: str, namespace: str, name: str) -> Mapping[str, Any]:
        self.reads.append((kind, namespace, name))
        found = self.objects.get((kind, namespace, name))
        if found is None:
            raise PermanentError(
                f'Could not read {kind} {namespace}/{name}: HTTP 404 Not Found: "{name}" not found'
            )
        return found


@pytest.fixture(scope="module")
def judge() -> checking.Judge:
    return checking.Judge(
        policies=policies.load_policies(bundled_policy_paths()), catalog=load_catalog()
    )


@pytest.fixture
def groups(tmp_path: Path) -> Iterator[SQLiteNotificationGroups]:
    store = SQLiteNotificationGroups(tmp_path / "groups.db")
    yield store
    store.close()


@pytest.fixture
def objects() -> Objects:
    return Objects(OBJECTS)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def bolt(
    slack: FakeSlack,
    judge: checking.Judge,
    objects: Objects,
    groups: SQLiteNotificationGroups,
    metrics: Metrics,
) -> AsyncIterator[BoltOverHTTP]:
    listeners = slack_app.Listeners(
        command="/policy", judge=judge, objects=objects, groups=groups, metrics=metrics
    )
    async with BoltOverHTTP(listeners, slack) as running:
        yield running


def open_group(groups: SQLiteNotificationGroups, *, rule: str = "autogen-forbid-latest-tag") -> str:
    """A rejection message's group, as the notifier stores it; returns its key."""
    key = GroupKey.make(
        kind="Deployment", namespace="shop", name="web", policy="disallow-latest-tag", rule=rule
    )
    notice = messages.Notice(
        key=key.digest,
        workload=messages.Workload("Deployment", "shop", "web"),
        team="platform",
        engine="kyverno",
        policy="disallow-latest-tag",
        rule=rule,
        action="deny",
        message='The image tag "latest" is not allowed.',
        title="Pin image versions",
        why="A moving tag makes rollbacks lie.",
        how_to_fix="Use a version tag.",
    )
    Grouper(groups).open(
        key,
        channel=CHANNEL,
        notice=json.dumps(notice.to_json()),
        at=datetime.datetime.now(datetime.UTC),
        blocking=True,
    )
    return key.digest


class TestCheckLive:
    async def test_findings_and_fix_only_to_the_asker(
        self, bolt: BoltOverHTTP, objects: Objects, slack: FakeSlack
    ) -> None:
        """A failing live object gets its findings and diffs, ephemerally."""
        objects.objects["Deployment", "shop", "web"]["spec"]["template"]["spec"]["containers"][0][
            "image"
        ] = "nginx:latest"

        ack = await bolt.command("check deploy/shop/web", hook="c1")
        (answer,) = await bolt.hooks.wait_for("c1")

        text = texts_of(answer)
        assert ack.json["response_type"] == "ephemeral"
        assert answer["response_type"] == "ephemeral"
        assert answer["replace_original"] is False
        assert "*Deployment shop/web* would be refused" in text
        assert "disallow-latest-tag/autogen-forbid-latest-tag" in text
        assert "-          image: nginx:latest" in text
        assert "+          image: nginx:" in text
        assert objects.reads == [("Deployment", "shop", "web")]
        assert slack.calls_to("chat.postMessage") == []

    async def test_secrets_and_server_fields_never_shown(
        self, bolt: BoltOverHTTP, objects: Objects
    ) -> None:
        """Diffs come from the cleaned manifest: no env secrets, no managedFields."""
        spec = objects.objects["Deployment", "shop", "web"]["spec"]["template"]["spec"]
        spec["securityContext"] = {}
        spec["containers"][0]["env"] = [{"name": "DB_PASSWORD", "value": "hunter2-do-not-show"}]

        await bolt.command("check deployment/shop/web", hook="c2")
        (answer,) = await bolt.hooks.wait_for("c2")

        text = texts_of(answer)
        assert "require-non-root" in text
        assert "hunter2" not in text
        assert "managedFields" not in text
        assert "resourceVersion" not in text

    async def test_compliant_object_passes(self, bolt: BoltOverHTTP) -> None:
        """An object that fails nothing says so, with the count of rules."""
        await bolt.command("check deployment/shop/web", hook="c3")
        (answer,) = await bolt.hooks.wait_for("c3")

        assert answer["text"].startswith("Deployment shop/web passes every policy")

    async def test_missing_object_is_explained(self, bolt: BoltOverHTTP) -> None:
        """A 404 from the cluster becomes a next step, not an error."""
        await bolt.command("check deployment/shop/gone", hook="c4")
        (answer,) = await bolt.hooks.wait_for("c4")

        text = texts_of(answer)
        assert "I could not read Deployment shop/gone" in text
        assert "HTTP 404 Not Found" in text
        assert "paste the manifest" in text

    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            ("check web", "`web` is not <kind>/<namespace>/<name>"),
            ("check service/shop/web", "I cannot check `service` objects"),
            ("check deployment/Shop/web", "`Shop` is not a Kubernetes name"),
            ("deploy everything", "I do not know `deploy`"),
            ("explain", "Tell me what to explain"),
        ],
    )
    async def test_usage_mistakes_answered_in_the_ack(
        self, bolt: BoltOverHTTP, objects: Objects, text: str, problem: str
    ) -> None:
        """A typo is answered at once, with help, and reads nothing."""
        ack = await bolt.command(text)

        assert ack.json["response_type"] == "ephemeral"
        assert problem in texts_of(ack.json)
        assert objects.reads == []

    async def test_no_cluster_offers_the_modal(
        self, slack: FakeSlack, judge: checking.Judge
    ) -> None:
        """Without a cluster connection, check points at pasting the manifest."""
        listeners = slack_app.Listeners(command="/policy", judge=judge, objects=None, groups=None)
        async with BoltOverHTTP(listeners, slack) as bolt:
            ack = await bolt.command("check deployment/shop/web")

        assert "no cluster connection" in ack.json["text"]
        assert "`/policy check` with no arguments" in ack.json["text"]

    async def test_commands_are_counted(self, bolt: BoltOverHTTP, metrics: Metrics) -> None:
        """Each command is counted by outcome, and its latency observed."""
        await bolt.command("help")
        await bolt.command("check nothing")

        assert metrics.commands_handled.value(command="help", outcome="ok") == 1
        assert metrics.commands_handled.value(command="check", outcome="usage") == 1
        assert metrics.latency.count(kind="command") == 2


class TestManifestModal:
    async def test_bare_check_opens_the_modal(self, bolt: BoltOverHTTP, slack: FakeSlack) -> None:
        """`check` alone opens a modal that remembers where to answer."""
        ack = await bolt.command("check", hook="m1")

        (call,) = slack.calls_to("views.open")
        view = (
            json.loads(call.args["view"])
            if isinstance(call.args["view"], str)
            else (call.args["view"])
        )
        assert ack.status == 200
        assert call.ok
        assert view["callback_id"] == command_texts.CHECK_MODAL
        assert json.loads(view["private_metadata"]) == {
            "channel": CHANNEL,
            "response_url": bolt.hooks.url("m1"),
        }

    async def test_modal_failure_is_told_to_the_asker(
        self, bolt: BoltOverHTTP, slack: FakeSlack
    ) -> None:
        """When views.open is refused, the asker learns it rather than waiting."""
        slack.fail_next("views.open", Failure.refusal("expired_trigger_id"))

        await bolt.command("check", hook="m0")
        (answer,) = await bolt.hooks.wait_for("m0")

        assert answer["text"].startswith("Sorry, I could not open the manifest dialog")

    async def test_submission_is_checked_and_answered_privately(self, bolt: BoltOverHTTP) -> None:
        """The pasted manifest's findings go to the command's response_url."""
        manifest = COMPLIANT.replace("nginx:1.27", "nginx:latest")
        metadata = json.dumps({"channel": CHANNEL, "response_url": bolt.hooks.url("m2")})

        ack = await bolt.submit(_submission(manifest, metadata))
        (answer,) = await bolt.hooks.wait_for("m2")

        assert ack.status == 200
        assert ack.text == ""
        assert answer["response_type"] == "ephemeral"
        assert "*Pod shop/ok* would be refused" in texts_of(answer)
        assert "+      image: nginx:" in texts_of(answer)

    async def test_bad_yaml_is_shown_under_the_input(self, bolt: BoltOverHTTP) -> None:
        """A manifest that does not parse keeps the modal open with the reason."""
        metadata = json.dumps({"channel": CHANNEL, "response_url": bolt.hooks.url("m3")})

        ack = await bolt.submit(_submission("kind: [unclosed", metadata))

        assert ack.json["response_action"] == "errors"
        assert (
            "invalid YAML at line 2, column 1" in ack.json["errors"][command_texts.MANIFEST_BLOCK]
        )
        assert bolt.hooks.received == {}

    async def test_no_object_is_shown_under_the_input(self, bolt: BoltOverHTTP) -> None:
        """YAML that holds no Kubernetes object is refused the same way."""
        metadata = json.dumps({"channel": CHANNEL, "response_url": bolt.hooks.url("m4")})

        ack = await bolt.submit(_submission("hello: world\n", metadata))

        assert ack.json["errors"][command_texts.MANIFEST_BLOCK].startswith(
            "No Kubernetes object found"
        )

    async def test_expired_response_url_falls_back_to_ephemeral(
        self, bolt: BoltOverHTTP, slack: FakeSlack
    ) -> None:
        """After the response_url expires, the answer goes by chat.postEphemeral."""
        slack.add_user(USER, "asker")
        bolt.hooks.status = 404
        metadata = json.dumps({"channel": CHANNEL, "response_url": bolt.hooks.url("m5")})

        await bolt.submit(_submission(COMPLIANT, metadata))
        await bolt.hooks.wait_for("m5")
        # The fallback call follows the refused hook; wait for it, bounded.
        for _ in range(200):
            if slack.ephemerals:
                break
            await asyncio.sleep(0.01)

        (ephemeral,) = slack.ephemerals
        assert ephemeral["user"] == USER
        assert ephemeral["channel"] == CHANNEL
        assert ephemeral["text"].startswith("Pod shop/ok passes every policy")


class TestExplain:
    async def test_policy_is_explained(self, bolt: BoltOverHTTP) -> None:
        """`explain <policy>` gives the knowledge base's entry."""
        await bolt.command("explain disallow-latest-tag", hook="e1")
        (answer,) = await bolt.hooks.wait_for("e1")

        text = texts_of(answer)
        assert "`disallow-latest-tag`" in text
        assert "*Why this rule exists*" in text
        assert "*How to comply*" in text

    async def test_rule_is_explained(self, bolt: BoltOverHTTP) -> None:
        """`explain <policy>/<rule>` names the rule."""
        await bolt.command("explain require-non-root/run-as-non-root", hook="e2")
        (answer,) = await bolt.hooks.wait_for("e2")

        assert "`require-non-root/run-as-non-root`" in texts_of(answer)

    async def test_pasted_rejection_is_explained(self, bolt: BoltOverHTTP) -> None:
        """kubectl's error text is parsed and each violation explained."""
        await bolt.command(f"explain {REJECTION}", hook="e3")
        (answer,) = await bolt.hooks.wait_for("e3")

        text = texts_of(answer)
        assert "disallow-latest-tag/autogen-forbid-latest-tag" in text
        assert "The image tag &quot;latest&quot;" in text or 'The image tag "latest"' in text

    async def test_unknown_word_lists_known_policies(self, bolt: BoltOverHTTP) -> None:
        """A word that is no policy and no rejection gets the list of policies."""
        await bolt.command("explain no-such-policy", hook="e4")
        (answer,) = await bolt.hooks.wait_for("e4")

        text = texts_of(answer)
        assert "I know no policy or rule named `no-such-policy`" in text
        assert "`disallow-latest-tag`" in text


class TestButtons:
    async def test_recheck_replies_in_the_thread(
        self,
        bolt: BoltOverHTTP,
        slack: FakeSlack,
        groups: SQLiteNotificationGroups,
        objects: Objects,
    ) -> None:
        """Re-check reads the workload again and tells the team in the thread."""
        key = open_group(groups)
        parent = await slack.client().chat_postMessage(channel=CHANNEL, text="Blocked: web")

        ack = await bolt.click(messages.RECHECK_ACTION, key, message_ts=str(parent["ts"]))
        await _settle(slack, "chat.postMessage", 2)

        reply = slack.messages(CHANNEL)[-1]
        assert ack.status == 200
        assert reply["thread_ts"] == parent["ts"]
        assert (
            f"<@{USER}> re-checked Deployment shop/web: it now satisfies"
            in reply["blocks"][0]["text"]["text"]
        )
        assert objects.reads == [("Deployment", "shop", "web")]

    async def test_recheck_says_when_still_failing(
        self,
        bolt: BoltOverHTTP,
        slack: FakeSlack,
        groups: SQLiteNotificationGroups,
        objects: Objects,
    ) -> None:
        """A workload still violating the rule is told so."""
        spec = objects.objects["Deployment", "shop", "web"]["spec"]["template"]["spec"]
        spec["containers"][0]["image"] = "nginx:latest"
        key = open_group(groups)
        parent = await slack.client().chat_postMessage(channel=CHANNEL, text="Blocked: web")

        await bolt.click(messages.RECHECK_ACTION, key, message_ts=str(parent["ts"]))
        await _settle(slack, "chat.postMessage", 2)

        assert "it still violates `disallow-latest-tag/autogen-forbid-latest-tag`" in (
            slack.messages(CHANNEL)[-1]["text"]
            + slack.messages(CHANNEL)[-1]["blocks"][0]["text"]["text"]
        )

    async def test_explain_button_answers_the_clicker(
        self, bolt: BoltOverHTTP, groups: SQLiteNotificationGroups, slack: FakeSlack
    ) -> None:
        """Explain shows the full explanation to the clicker alone."""
        key = open_group(groups)

        await bolt.click(messages.EXPLAIN_ACTION, key, hook="b3")
        (answer,) = await bolt.hooks.wait_for("b3")

        assert answer["response_type"] == "ephemeral"
        assert "*Why this rule exists*" in texts_of(answer)
        assert slack.calls_to("chat.postMessage") == []

    async def test_exception_button_says_who_decides(
        self, bolt: BoltOverHTTP, groups: SQLiteNotificationGroups, slack: FakeSlack
    ) -> None:
        """Request exception answers the clicker with the rule's approvers, privately."""
        key = open_group(groups)

        await bolt.click(messages.EXCEPTION_ACTION, key, hook="b5")
        (answer,) = await bolt.hooks.wait_for("b5")

        assert answer["response_type"] == "ephemeral"
        assert "disallow-latest-tag/autogen-forbid-latest-tag" in answer["text"]
        assert slack.calls_to("chat.postMessage") == []

    async def test_forgotten_group_says_so(self, bolt: BoltOverHTTP) -> None:
        """A button on a message older than the store's memory explains itself."""
        await bolt.click(messages.RECHECK_ACTION, "g0000000000000000000", hook="b4")
        (answer,) = await bolt.hooks.wait_for("b4")

        assert "I no longer have the details of this message" in answer["text"]


def _submission(manifest: str, metadata: str) -> dict[str, Any]:
    values = {
        command_texts.MANIFEST_BLOCK: {
            command_texts.MANIFEST_INPUT: {"type": "plain_text_input", "value": manifest}
        }
    }
    return submission_payload(
        callback_id=command_texts.CHECK_MODAL, values=values, private_metadata=metadata
    )


async def _settle(slack: FakeSlack, method: str, count: int) -> None:
    """Wait until the fake has answered `count` calls to `method`."""
    import asyncio

    async with asyncio.timeout(10):
        while len(slack.calls_to(method)) < count:  # noqa: ASYNC110 (the fake signals nothing)
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (None, "says nothing about exceptions"),
        (messages.ExceptionTerms(allowed=False), "No exceptions are granted"),
        (
            messages.ExceptionTerms(allowed=True, max_duration="7d", approvers="Platform Security"),
            "last up to 7d and are approved by Platform Security",
        ),
    ],
)
def test_exception_answer_follows_the_knowledge_base(terms, expected):
    """The exception answer says what the knowledge base allows, and who decides."""
    reply = command_texts.exception_request("p", "r", terms)

    assert expected in reply.text
