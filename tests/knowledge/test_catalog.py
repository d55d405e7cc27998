"""The knowledge base: the bundled data is complete, and broken files say where."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.errors import InputError
from bot.knowledge import catalog, entries
from bot.knowledge.catalog import KnowledgeError, load_catalog
from bot.policy.pss import catalogue

# The bundled baseline keeps to plain match/exclude and pattern/anyPattern
# validation, so its verdicts never hinge on the engine's newer features.
ALLOWED_VALIDATE_KEYS = {"message", "pattern", "anyPattern"}
ALLOWED_RULE_KEYS = {"name", "match", "exclude", "validate"}
REQUIRED_ANNOTATIONS = {
    "policies.kyverno.io/title",
    "policies.kyverno.io/category",
    "policies.kyverno.io/severity",
    "policies.kyverno.io/subject",
    "policies.kyverno.io/description",
}
UPSTREAM_DOC_HOSTS = {"kubernetes.io", "kyverno.io"}
PSS_POLICY = "pod-security-standards"
"""Explanations of the built-in Pod Security checks, keyed by check ID."""

ENTRY = """\
entries:
  - policy: require-team
    rule: team-label
    title: Workloads need a team label
    why: Nobody can be paged for an unowned workload. Its alerts go nowhere.
    fix:
      summary: Add the team label.
      snippet: |
        metadata:
          labels:
            team: checkout
    references:
      - title: Labels
        url: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/
    exception:
      allowed: true
      max_duration: 7d
      approvers: Platform Security
"""


@pytest.fixture(autouse=True)
def elsewhere(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Work from a directory outside tmp_path, so messages show full paths."""
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def baseline_rules() -> list[tuple[str, str]]:
    """Every (policy, rule) pair of the bundled baseline, read straight from YAML."""
    pairs: list[tuple[str, str]] = []
    for path in catalog.bundled_policy_paths():
        policy = load_yaml(path)
        pairs.extend((policy["metadata"]["name"], r["name"]) for r in policy["spec"]["rules"])
    return pairs


def write(directory: Path, text: str, name: str = "kb.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def entry_with(**changes: Any) -> dict[str, Any]:
    """The ENTRY document's first entry, changed; a None value removes the field."""
    entry: dict[str, Any] = yaml.safe_load(ENTRY)["entries"][0]
    for key, value in changes.items():
        if value is None:
            entry.pop(key)
        else:
            entry[key] = value
    return entry


def write_entries(directory: Path, *items: dict[str, Any], name: str = "kb.yaml") -> Path:
    return write(directory, yaml.safe_dump({"entries": list(items)}), name)


# The bundled data.


def test_bundled_catalog_loads() -> None:
    kb = load_catalog()

    assert len(kb) >= len(catalog.bundled_explanation_paths())
    assert all(isinstance(e, entries.Explanation) for e in kb)


def test_bundled_policies_are_found() -> None:
    paths = catalog.bundled_policy_paths()

    assert len(paths) >= 5
    assert all(p.suffix == ".yaml" and p.parent.name == "policies" for p in paths)
    assert paths == sorted(paths)


@pytest.mark.parametrize(("policy", "rule"), baseline_rules())
def test_every_baseline_rule_is_explained(policy: str, rule: str) -> None:
    kb = load_catalog()

    found = kb.lookup(policy, rule)

    assert found is not None, f"no explanation for {policy}/{rule}"
    assert found.policy == policy
    assert found.rule in (rule, None)


def test_every_entry_names_a_baseline_rule() -> None:
    """Entries explain bundled rules, or built-in Pod Security checks by check ID."""
    policies = {policy for policy, _ in baseline_rules()}
    rules = set(baseline_rules())
    check_ids = {check.check_id for check in catalogue.CHECKS}

    for entry in load_catalog():
        if entry.policy == PSS_POLICY:
            assert entry.rule in check_ids, entry.rule
            continue
        assert entry.policy in policies, entry.policy
        if entry.rule is not None:
            assert (entry.policy, entry.rule) in rules, (entry.policy, entry.rule)


def test_bundled_entries_follow_house_style() -> None:
    for entry in load_catalog():
        sentences = re.split(r"(?<=[.!?])\s+", entry.why)
        hosts = {urlsplit(ref.url).hostname for ref in entry.references}

        assert 2 <= len(sentences) <= 4, (entry.policy, entry.rule, len(sentences))
        assert hosts <= UPSTREAM_DOC_HOSTS, (entry.policy, hosts)


@pytest.mark.parametrize("path", catalog.bundled_policy_paths(), ids=lambda p: p.name)
def test_baseline_policy_uses_supported_features(path: Path) -> None:
    policy = load_yaml(path)
    annotations = policy["metadata"].get("annotations", {})

    assert policy["apiVersion"] == "kyverno.io/v1"
    assert policy["kind"] == "ClusterPolicy"
    assert path.stem == policy["metadata"]["name"]
    assert set(annotations) >= REQUIRED_ANNOTATIONS
    assert policy["spec"]["validationFailureAction"] == "Enforce"
    for rule in policy["spec"]["rules"]:
        assert set(rule) <= ALLOWED_RULE_KEYS, rule["name"]
        assert set(rule["validate"]) <= ALLOWED_VALIDATE_KEYS, rule["name"]
        assert "{{" not in yaml.safe_dump(rule), rule["name"]


# Lookups.


@pytest.mark.parametrize("rule", ["team-label", "autogen-team-label", "autogen-cronjob-team-label"])
def test_autogen_rule_uses_pod_rule_entry(tmp_path: Path, rule: str) -> None:
    kb = load_catalog([write(tmp_path, ENTRY)])

    found = kb.lookup("require-team", rule)

    assert found is not None
    assert found.rule == "team-label"


def test_exact_rule_entry_beats_fallbacks(tmp_path: Path) -> None:
    kb = load_catalog(
        [
            write_entries(
                tmp_path,
                entry_with(rule=None, title="Whole policy"),
                entry_with(title="Pod rule"),
                entry_with(rule="autogen-team-label", title="Controller rule"),
            )
        ]
    )

    def title_of(rule: str | None) -> str | None:
        found = kb.lookup("require-team", rule)
        return found.title if found else None

    assert title_of("autogen-team-label") == "Controller rule"
    assert title_of("team-label") == "Pod rule"
    assert title_of("autogen-cronjob-team-label") == "Pod rule"
    assert title_of("other") == "Whole policy"
    assert title_of(None) == "Whole policy"


def test_unknown_rule_without_policy_entry_is_none(tmp_path: Path) -> None:
    kb = load_catalog([write(tmp_path, ENTRY)])

    assert kb.lookup("require-team", "other-rule") is None
    assert kb.lookup("require-team", "autogen-") is None
    assert kb.lookup("other-policy", "team-label") is None


def test_directory_loads_all_yaml_files(tmp_path: Path) -> None:
    write_entries(tmp_path, entry_with(), name="a.yaml")
    write_entries(tmp_path, entry_with(policy="require-owner"), name="b.yml")
    (tmp_path / "notes.txt").write_text("not knowledge", encoding="utf-8")

    kb = load_catalog([tmp_path])

    assert {e.policy for e in kb} == {"require-team", "require-owner"}


def test_allowed_exception_gives_timedelta(tmp_path: Path) -> None:
    kb = load_catalog([write(tmp_path, ENTRY)])

    found = kb.lookup("require-team", "team-label")

    assert found is not None
    assert found.exception.max_timedelta is not None
    assert found.exception.max_timedelta.days == 7


# Broken files.


@pytest.mark.parametrize(
    ("entry", "field", "problem"),
    [
        (entry_with(why=None), "entries[0].why", "Field required"),
        (entry_with(owner="me"), "entries[0].owner", "Extra inputs are not permitted"),
        (entry_with(title="   "), "entries[0].title", "at least 1 character"),
        (
            entry_with(references=[{"title": "Docs", "url": "http://kubernetes.io/"}]),
            "entries[0].references[0].url",
            "must be an https:// URL",
        ),
        (entry_with(references=[]), "entries[0].references", "at least 1 item"),
        (
            entry_with(fix={"summary": "Add it.", "snippet": "labels: [team"}),
            "entries[0].fix.snippet",
            "must be valid YAML",
        ),
        (
            entry_with(exception={"allowed": True, "max_duration": "1 week", "approvers": "PS"}),
            "entries[0].exception.max_duration",
            "should match pattern",
        ),
        (
            entry_with(exception={"allowed": True}),
            "entries[0].exception",
            "needs both max_duration and approvers",
        ),
        (
            entry_with(exception={"allowed": "yes"}),
            "entries[0].exception.allowed",
            "valid boolean",
        ),
    ],
)
def test_schema_error_names_file_and_field(
    tmp_path: Path, entry: dict[str, Any], field: str, problem: str
) -> None:
    path = write_entries(tmp_path, entry)

    with pytest.raises(KnowledgeError) as caught:
        load_catalog([path])

    assert str(caught.value).startswith(f"{path}: {field}: ")
    assert problem in str(caught.value)
    assert "pydantic" not in str(caught.value)


def test_every_schema_error_gets_a_line(tmp_path: Path) -> None:
    path = write_entries(tmp_path, entry_with(), entry_with(why=None, title=None))

    with pytest.raises(KnowledgeError) as caught:
        load_catalog([path])

    assert str(caught.value).splitlines() == [
        f"{path}: entries[1].title: Field required",
        f"{path}: entries[1].why: Field required",
    ]


def test_missing_field_reads_like_the_brief(tmp_path: Path) -> None:
    items = [entry_with(policy=f"policy-{i}") for i in range(4)]
    items[3].pop("why")
    path = write_entries(tmp_path, *items, name="x.yaml")

    with pytest.raises(KnowledgeError, match=r"x\.yaml: entries\[3\]\.why: Field required$"):
        load_catalog([path])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("entries: [\n  {policy: a\n", "line 3, column 1: not valid YAML"),
        ("- just\n- a list\n", "(top level): Input should be a valid dictionary"),
        ("", "(top level): Input should be a valid dictionary"),
        ("entries: []\n", "entries: List should have at least 1 item"),
    ],
)
def test_unusable_document_names_file(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(KnowledgeError) as caught:
        load_catalog([path])

    assert str(caught.value).startswith(f"{path}: {message}")


def test_duplicate_entry_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, ENTRY, name="a.yaml")
    second = write(tmp_path, ENTRY, name="b.yaml")

    with pytest.raises(KnowledgeError) as caught:
        load_catalog([first, second])

    assert str(caught.value) == (
        f"{second}: entries[0]: duplicate entry for require-team/team-label, "
        f"first defined in {first} entries[0]"
    )


def test_missing_path_is_a_knowledge_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.yaml"

    with pytest.raises(KnowledgeError, match="no such file or directory"):
        load_catalog([missing])


def test_knowledge_error_is_an_input_error(tmp_path: Path) -> None:
    """The CLI turns every InputError into one message and exit code 2."""
    with pytest.raises(InputError):
        load_catalog([tmp_path / "nowhere.yaml"])


def test_paths_below_working_directory_are_shown_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "kb").mkdir()
    write_entries(tmp_path / "kb", entry_with(why=None), name="x.yaml")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(KnowledgeError) as caught:
        load_catalog([Path("kb")])

    assert str(caught.value) == "kb/x.yaml: entries[0].why: Field required"


def test_no_bundled_value_is_cut_by_a_comment() -> None:
    """An unquoted ` #` starts a YAML comment and silently truncates the text."""
    suspicious = [
        f"{path.name}:{number}"
        for path in catalog.bundled_explanation_paths()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r"^\s*(title|why|summary|approvers|notes|policy|rule): [^\"'|>].* #", line)
    ]

    assert suspicious == []
