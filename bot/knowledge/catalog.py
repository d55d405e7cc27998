"""Loading the knowledge base and finding the explanation for a rule.

The bundled data lives in the top-level `knowledge` package (policies and
explanations as YAML) and is found through importlib.resources, so it works
from a checkout and from an installed wheel alike. Teams may point us at their
own explanation files instead. Either way a broken file stops loading with a
`KnowledgeError` naming the file and the field, never a pydantic traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pydantic
import yaml

from bot import errors
from bot.errors import InputError
from bot.knowledge import entries

logger = logging.getLogger(__name__)

DATA_PACKAGE = "knowledge"
YAML_SUFFIXES = (".yaml", ".yml")

# Kyverno names the rules it generates for Pod controllers after the Pod rule.
# Longest prefix first: "autogen-cronjob-x" must not become "cronjob-x".
AUTOGEN_PREFIXES = ("autogen-cronjob-", "autogen-")

EntryKey = tuple[str, str | None]


class KnowledgeError(InputError):
    """A knowledge file is missing, is not YAML, or does not fit the schema.

    The message has one line per problem, each reading `file: field: problem`,
    so that the author can go straight to the place to fix.
    """


class Catalog:
    """Explanations keyed by policy and rule, with Kyverno's naming folded in."""

    def __init__(self, explanations: Mapping[EntryKey, entries.Explanation]) -> None:
        self._explanations = dict(explanations)

    def __len__(self) -> int:
        return len(self._explanations)

    def __iter__(self) -> Iterator[entries.Explanation]:
        return iter(self._explanations.values())

    def lookup(self, policy: str, rule: str | None = None) -> entries.Explanation | None:
        """The best explanation for a rule of a policy, or None if we have none.

        An entry for the exact rule wins; a rule Kyverno generated for Pod
        controllers (`autogen-x`, `autogen-cronjob-x`) is explained by the entry
        for the Pod rule `x`; failing both, an entry for the whole policy.
        """
        for key in self._candidate_keys(policy, rule):
            found = self._explanations.get(key)
            if found is not None:
                return found
        return None

    @staticmethod
    def _candidate_keys(policy: str, rule: str | None) -> Iterator[EntryKey]:
        if rule:
            yield policy, rule
            for prefix in AUTOGEN_PREFIXES:
                if rule.startswith(prefix) and len(rule) > len(prefix):
                    yield policy, rule.removeprefix(prefix)
                    break
        yield policy, None


def bundled_root() -> Path:
    """The directory of the bundled `knowledge` package."""
    root = resources.files(DATA_PACKAGE)
    if not isinstance(root, Path):
        # NB: a zipped install would give a Traversable we cannot glob or
        # name in messages; pip never installs us that way.
        raise KnowledgeError("bundled data is not on the file system", source=str(root))
    return root


def bundled_policy_paths() -> list[Path]:
    """The baseline Kyverno policy files shipped with Policybot, sorted by name."""
    return _yaml_files_in(bundled_root() / "policies")


def bundled_explanation_paths() -> list[Path]:
    """The explanation files shipped with Policybot, sorted by name."""
    return _yaml_files_in(bundled_root() / "explanations")


def bundled_platform_paths() -> list[Path]:
    """The platform defaults shipped with Policybot: a LimitRange, a default StorageClass."""
    return _yaml_files_in(bundled_root() / "platform")


def load_catalog(paths: Sequence[Path] | None = None) -> Catalog:
    """Read explanation files into a catalog.

    Args:
        paths: Files, or directories whose `*.yaml` files are read. None means
            the explanations bundled with Policybot.

    Raises:
        KnowledgeError: A file is missing, unreadable, not YAML, does not fit
            the schema, or repeats an entry another file already defines.
    """
    files = bundled_explanation_paths() if paths is None else _expand(paths)

    explanations: dict[EntryKey, entries.Explanation] = {}
    origins: dict[EntryKey, str] = {}
    for path in files:
        source = _display(path)
        parsed = _parse(path, source=source)
        _merge(parsed, source=source, into=explanations, origins=origins)

    logger.debug("Loaded %d explanations from %d files.", len(explanations), len(files))
    return Catalog(explanations)


def _expand(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(_yaml_files_in(path))
        elif path.is_file():
            files.append(path)
        else:
            raise KnowledgeError("no such file or directory", source=_display(path))
    return files


def _yaml_files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in YAML_SUFFIXES and p.is_file())


def _parse(path: Path, *, source: str) -> entries.ExplanationsFile:
    # Read and parse: I/O and syntax problems point at the file, or the line.
    try:
        text = path.read_text(encoding="utf-8")
        data: Any = yaml.safe_load(text)
    except OSError as error:
        raise KnowledgeError(f"cannot read: {error.strerror or error}", source=source) from None
    except yaml.YAMLError as error:
        raise KnowledgeError(errors.describe_yaml_error(error), source=source) from None

    # Validate: every schema violation becomes one `file: field: problem` line.
    try:
        return entries.ExplanationsFile.model_validate(data)
    except pydantic.ValidationError as error:
        problems = error.errors(include_url=False, include_context=False)
        raise errors.schema_error(KnowledgeError, problems, source=source) from None


def _merge(
    parsed: entries.ExplanationsFile,
    *,
    source: str,
    into: dict[EntryKey, entries.Explanation],
    origins: dict[EntryKey, str],
) -> None:
    # Two entries for the same rule would make the answer depend on file
    # order, so the second one is an error that names where the first lives.
    for index, explanation in enumerate(parsed.entries):
        key = (explanation.policy, explanation.rule)
        where = f"{source} entries[{index}]"
        if key in origins:
            what = explanation.policy + (f"/{explanation.rule}" if explanation.rule else "")
            raise KnowledgeError(
                f"duplicate entry for {what}, first defined in {origins[key]}",
                source=source,
                field=f"entries[{index}]",
            )
        into[key] = explanation
        origins[key] = where


def _display(path: Path) -> str:
    """The path relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
