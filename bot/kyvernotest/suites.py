"""The Kyverno CLI `Test` file: what it names and what it expects.

A suite lists policy and resource files relative to itself, optional values
and user-info files, and expected results, each of which fans out into one
expectation per resource it names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.policy import documents

TEST_FILE_NAMES = ("kyverno-test.yaml", "kyverno-test.yml")
RESULT_VALUES = frozenset({"pass", "fail", "skip", "warn", "error"})


@dataclass(frozen=True)
class Expectation:
    """One expected report result: a policy's rule on one resource."""

    policy: str
    rule: str
    kind: str
    resource: str
    """The resource name, or `namespace/name`."""
    expected: str
    rule_less: bool = False
    """ValidatingPolicy and friends have no rules; their `rule` is ignored."""

    @property
    def resource_name(self) -> str:
        return self.resource.rpartition("/")[2]

    @property
    def resource_namespace(self) -> str | None:
        namespace, slash, _ = self.resource.rpartition("/")
        return namespace if slash else None


@dataclass(frozen=True)
class Suite:
    path: Path
    name: str
    policy_paths: tuple[Path, ...]
    resource_paths: tuple[Path, ...]
    values_path: Path | None
    userinfo_path: Path | None
    context_path: Path | None
    expectations: tuple[Expectation, ...]


def discover(roots: list[Path]) -> Iterator[Path]:
    """Every test file below the given directories (or the files themselves)."""
    for root in roots:
        if root.is_file():
            yield root
            continue
        if not root.is_dir():
            raise InputError("no such file or directory", source=str(root))
        for name in TEST_FILE_NAMES:
            yield from sorted(root.rglob(name))


def load_suite(path: Path) -> Suite:
    docs = documents.parse_documents(documents.read_text(path), source=str(path))
    if len(docs) != 1 or not isinstance(docs[0].content, Mapping):
        raise InputError("must hold exactly one Test document", source=str(path))
    content = docs[0].content
    if content.get("kind") != "Test":
        raise InputError(f"kind must be Test, got {content.get('kind')!r}", source=str(path))
    base = path.parent

    def paths(key: str) -> tuple[Path, ...]:
        value = content.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise InputError("must be a list of paths", source=str(path), field=key)
        return tuple(base / str(item) for item in value)

    def optional(key: str) -> Path | None:
        value = content.get(key)
        return base / str(value) if value else None

    metadata = content.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    return Suite(
        path=path,
        name=str(metadata.get("name") or content.get("name") or path.parent.name),
        policy_paths=paths("policies"),
        resource_paths=paths("resources"),
        values_path=optional("variables"),
        userinfo_path=optional("userinfo"),
        context_path=optional("context"),
        expectations=tuple(_expectations(content.get("results"), source=str(path))),
    )


def _expectations(results: Any, *, source: str) -> Iterator[Expectation]:
    if not isinstance(results, list):
        raise InputError("must be a list", source=source, field="results")
    for index, entry in enumerate(results):
        where = f"results[{index}]"
        if not isinstance(entry, Mapping):
            raise InputError("must be a mapping", source=source, field=where)
        expected = str(entry.get("result") or entry.get("status") or "")
        if expected not in RESULT_VALUES:
            raise InputError(
                f"must be one of {', '.join(sorted(RESULT_VALUES))}, got {expected!r}",
                source=source,
                field=f"{where}.result",
            )
        names = entry.get("resources")
        if names is None:
            names = [entry["resource"]] if entry.get("resource") else []
        if not isinstance(names, list):
            raise InputError("must be a list of names", source=source, field=f"{where}.resources")
        rule_less = any(
            entry.get(flag)
            for flag in ("isValidatingPolicy", "isValidatingAdmissionPolicy", "isMutatingPolicy")
        )
        for name in names:
            yield Expectation(
                policy=str(entry.get("policy", "")).rpartition("/")[2],
                rule=str(entry.get("rule") or ""),
                kind=str(entry.get("kind") or ""),
                resource=str(name),
                expected=expected,
                rule_less=rule_less,
            )
