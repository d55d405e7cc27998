"""Properties of fixes for the bundled baseline: a fix repairs and breaks nothing.

Hypothesis builds Pods and Pod controllers the way teams write them, half
compliant and half not, and every fix the bot would offer for them is applied
and judged again by the whole baseline. A proven (`exact`) fix must make its
rule pass without turning any other rule red, and no fix may touch the
manifest it was derived from.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.cli import checking
from bot.knowledge import catalog
from bot.policy import engine, policies
from bot.policy.fixes import combining, platform_defaults, synthesis
from bot.policy.fixes.patches import apply_patch
from bot.policy.fixes.platform_defaults import PlatformDefaults
from bot.policy.requests import AdmissionRequest
from bot.policy.results import RuleResult

BASELINE = policies.load_policies([checking.bundled_policy_dir()])
FAILING = ("fail", "warn", "error")
"""A warning is how Kyverno reports the failure of an unscored policy."""
PLACEHOLDER = re.compile(r"<[^<>]+>")

DEFAULTS = pytest.mark.parametrize(
    "defaults",
    [
        pytest.param(platform_defaults.NO_DEFAULTS, id="manifest-only"),
        pytest.param(
            platform_defaults.load(catalog.bundled_platform_paths()), id="platform-defaults"
        ),
    ],
)
"""Every property holds with values from the manifest alone and with the
bundled platform defaults, which turn more fixes exact."""

PROPERTIES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# Strategies: the pieces of a Pod spec, each sometimes left out.


def fields(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A map holding any subset of the given keys."""
    return st.fixed_dictionaries({}, optional=strategies)


SECRET_NAMES = ["DB_PASSWORD", "apiToken", "API_KEY", "ClientSecret", "tls_private_key"]
PLAIN_NAMES = ["LOG_LEVEL", "PORT", "TOKEN_TTL_HINT", "region", "Passwordless"]
REPOSITORIES = ["nginx", "ghcr.io/acme/api", "registry.local:5000/worker", "busybox"]
DIGEST = "@sha256:" + "0123456789abcdef" * 4
TAGS = ["", ":1.27.3", ":latest", DIGEST, ":2.1" + DIGEST, ":latest" + DIGEST]
CAPABILITIES = ["ALL", "NET_ADMIN", "NET_BIND_SERVICE", "SYS_ADMIN", "CHOWN"]

booleans = st.booleans()
user_ids = st.sampled_from([0, 1000, 65534])
images = st.builds(
    lambda repo, tag: repo + tag, st.sampled_from(REPOSITORIES), st.sampled_from(TAGS)
)
quantities = st.sampled_from(["100m", "250m", "1", "", "64Mi", "1Gi"])

env_sources = st.sampled_from(
    [
        {"secretKeyRef": {"name": "app-secrets", "key": "value"}},
        {"configMapKeyRef": {"name": "app-config", "key": "value"}},
        {"fieldRef": {"fieldPath": "metadata.name"}},
    ]
)
env_vars = st.one_of(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(SECRET_NAMES + PLAIN_NAMES),
            "value": st.sampled_from(["hunter2", "", "info", "8080"]),
        }
    ),
    st.fixed_dictionaries(
        {"name": st.sampled_from(SECRET_NAMES + PLAIN_NAMES), "valueFrom": env_sources}
    ),
)

container_contexts = fields(
    runAsNonRoot=booleans,
    runAsUser=user_ids,
    privileged=booleans,
    allowPrivilegeEscalation=booleans,
    readOnlyRootFilesystem=booleans,
    capabilities=fields(
        add=st.lists(st.sampled_from(CAPABILITIES), max_size=2, unique=True),
        drop=st.lists(st.sampled_from(CAPABILITIES), max_size=2, unique=True),
    ),
)
pod_contexts = fields(runAsNonRoot=booleans, runAsUser=user_ids, fsGroup=st.just(2000))
resource_blocks = fields(
    requests=fields(cpu=quantities, memory=quantities),
    limits=fields(cpu=quantities, memory=quantities),
)
volume_sources: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {"hostPath": {"path": "/var/run/docker.sock"}},
        {"hostPath": {"path": "/data", "type": "DirectoryOrCreate"}},
        {"emptyDir": {}},
        {"configMap": {"name": "app-config"}},
        {"secret": {"secretName": "app-secrets"}},
    ]
)


@st.composite
def containers(draw: st.DrawFn, name: str) -> dict[str, Any]:
    body: dict[str, Any] = {"name": name, "image": draw(images)}
    body.update(
        draw(
            fields(
                securityContext=st.one_of(st.none(), container_contexts),
                env=st.lists(env_vars, max_size=3, unique_by=lambda var: var["name"]),
                resources=resource_blocks,
            )
        )
    )
    return body


@st.composite
def pod_specs(draw: st.DrawFn, *, ephemeral: bool) -> dict[str, Any]:
    count = draw(st.integers(1, 2))
    spec: dict[str, Any] = {"containers": [draw(containers(f"app-{i}")) for i in range(count)]}

    # Init and ephemeral containers are optional, as in most real Pods.
    if draw(booleans):
        spec["initContainers"] = [draw(containers("init"))]
    if ephemeral and draw(st.integers(0, 3)) == 0:
        spec["ephemeralContainers"] = [draw(containers("debugger"))]

    # Pod-level settings that the baseline also judges.
    spec.update(draw(fields(hostNetwork=booleans, hostPID=booleans, hostIPC=booleans)))
    if draw(booleans):
        spec["securityContext"] = draw(st.one_of(st.none(), pod_contexts))
    sources = draw(st.lists(volume_sources, max_size=2))
    if sources:
        spec["volumes"] = [{"name": f"vol-{i}", **v} for i, v in enumerate(sources)]
    return spec


label_sets = fields(
    **{
        "app.kubernetes.io/name": st.sampled_from(["checkout", ""]),
        "team": st.sampled_from(["payments", ""]),
        "tier": st.just("backend"),
    }
)


@st.composite
def metadata(draw: st.DrawFn, name: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if name is not None:
        meta["name"] = name
        # Everything in kube-system is exempt, so it only turns up now and then.
        rare = draw(st.integers(0, 7)) == 0
        meta["namespace"] = (
            "kube-system" if rare else draw(st.sampled_from(["default", "payments"]))
        )
    if draw(st.integers(0, 4)) > 0:
        meta["labels"] = draw(st.one_of(st.none(), label_sets))
    return meta


@st.composite
def manifests(draw: st.DrawFn) -> dict[str, Any]:
    """A Pod, or a Pod controller whose template holds a generated Pod spec."""
    kind = draw(
        st.sampled_from(["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"])
    )
    meta = draw(metadata("checkout"))
    if kind == "Pod":
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": meta,
            "spec": draw(pod_specs(ephemeral=True)),
        }

    template = {"metadata": draw(metadata()), "spec": draw(pod_specs(ephemeral=False))}
    if kind in ("Job", "CronJob"):
        template["spec"]["restartPolicy"] = "Never"
        job = {"backoffLimit": 2, "template": template}
        if kind == "Job":
            return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": job}
        spec = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job}}
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta, "spec": spec}

    selector = {"matchLabels": {"app": "checkout"}}
    # The selector must match the template, so these templates always have labels.
    template["metadata"]["labels"] = {
        **(template["metadata"].get("labels") or {}),
        "app": "checkout",
    }
    spec = {"selector": selector, "template": template}
    if kind == "StatefulSet":
        spec["serviceName"] = "checkout"
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}


# Helpers that judge a manifest with the whole baseline.


def judge(manifest: Mapping[str, Any]) -> list[RuleResult]:
    return engine.evaluate_all(BASELINE, AdmissionRequest(object=dict(manifest)))


def keys(results: Iterable[RuleResult], statuses: Iterable[str]) -> set[tuple[str, str]]:
    wanted = set(statuses)
    return {(r.policy, r.rule) for r in results if r.status in wanted}


def placeholders_in(value: Any) -> list[str]:
    """Every string in an op value that asks a person to fill something in."""
    if isinstance(value, str):
        return [value] if PLACEHOLDER.search(value) else []
    if isinstance(value, Mapping):
        return [found for inner in value.values() for found in placeholders_in(inner)]
    if isinstance(value, list):
        return [found for inner in value for found in placeholders_in(inner)]
    return []


# The properties.


@DEFAULTS
@PROPERTIES
@given(manifest=manifests())
def test_exact_fix_repairs_and_breaks_nothing(
    manifest: dict[str, Any], defaults: PlatformDefaults
) -> None:
    """An exact fix's ops give its fixed manifest, on which its rule passes
    and no rule that was not failing before fails now."""
    failing_before = keys(judge(manifest), FAILING)

    for fix in synthesis.fix_failures(manifest, BASELINE, defaults=defaults):
        if fix.status != "exact":
            continue
        patched = apply_patch(manifest, fix.ops)
        after = judge(patched)
        target = (fix.failure.policy, fix.failure.rule)

        assert patched == fix.fixed
        assert target in keys(after, ["pass"])
        assert keys(after, FAILING) <= failing_before


@DEFAULTS
@PROPERTIES
@given(manifest=manifests())
def test_combined_fix_repairs_every_exact_failure(
    manifest: dict[str, Any], defaults: PlatformDefaults
) -> None:
    """The combined patch repairs every failure that has an exact fix of
    its own, and turns no passing rule red."""
    before = judge(manifest)
    exact = {
        (fix.failure.policy, fix.failure.rule)
        for fix in synthesis.fix_failures(manifest, BASELINE, defaults=defaults)
        if fix.status == "exact"
    }

    combined = combining.combine(manifest, BASELINE, defaults=defaults)
    after = judge(combined.fixed)

    assert apply_patch(manifest, combined.ops) == combined.fixed
    assert exact <= keys(after, ["pass"])
    assert not keys(before, ["pass"]) & keys(after, FAILING)


@DEFAULTS
@PROPERTIES
@given(manifest=manifests())
def test_guided_fix_holds_a_placeholder(
    manifest: dict[str, Any], defaults: PlatformDefaults
) -> None:
    """A guided fix leaves something for a person to fill in, and a fix
    with status none proposes no change at all."""
    fixes = synthesis.fix_failures(manifest, BASELINE, defaults=defaults)

    for fix in fixes:
        if fix.status == "guided":
            assert [p for op in fix.ops for p in placeholders_in(op.value)], fix.note
        elif fix.status == "none":
            assert fix.ops == ()
            assert fix.fixed is None


@PROPERTIES
@given(manifest=manifests())
def test_fixing_leaves_input_untouched(manifest: dict[str, Any]) -> None:
    """Neither single fixes nor the combined fix change the manifest they
    were derived from."""
    original = copy.deepcopy(manifest)

    synthesis.fix_failures(manifest, BASELINE)
    combining.combine(manifest, BASELINE)

    assert manifest == original
