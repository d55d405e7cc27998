"""Reading YAML and JSON documents from files, directories and stdin.

Policies, manifests, tests and values files all arrive as (possibly
multi-document) YAML. This module turns them into plain Python values while
remembering where each document came from, so that every later error can name
the file and the document. It refuses inputs too large to be a manifest
rather than exhausting memory on them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.errors import InputError

# NB: a real manifest set is kilobytes; anything past this is a mistake or an
# attack, and parsing it would hold the whole thing in memory several times.
MAX_FILE_BYTES = 32 * 1024 * 1024

YAML_SUFFIXES = (".yaml", ".yml", ".json")

# The C loader is several times faster; fall back quietly where PyYAML lacks it.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Document:
    """One YAML document and where it came from."""

    source: str
    """The file path as the user wrote it, or "<stdin>"."""
    index: int
    """1-based position of the document in its file."""
    content: Any


def expand_paths(paths: Iterable[str | Path]) -> list[Path | str]:
    """Resolve directories into their YAML files, sorted for stable output.

    "-" stands for standard input and is kept as is.
    """
    found: list[Path | str] = []
    for raw in paths:
        if str(raw) == "-":
            found.append("-")
            continue
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in YAML_SUFFIXES and p.is_file() and not _is_hidden(p, path)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InputError("no such file or directory", source=str(raw))
    return found


def _is_hidden(path: Path, root: Path) -> bool:
    # Skip dot-directories such as .git or .kyverno-test below the root given.
    return any(part.startswith(".") for part in path.relative_to(root).parts[:-1])


def read_text(path: Path | str) -> str:
    """Read a file or stdin as UTF-8 text, refusing oversized input."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        source = "<stdin>"
    else:
        source = str(path)
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as error:
            raise InputError(f"cannot read: {error.strerror}", source=source) from error
    if len(data) > MAX_FILE_BYTES:
        raise InputError(
            f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; split it into smaller files",
            source=source,
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(
            f"not UTF-8 text (byte {error.start} is {data[error.start]:#04x})", source=source
        ) from error


def parse_documents(text: str, *, source: str) -> list[Document]:
    """Parse every document of a YAML stream; empty documents are dropped."""
    documents: list[Document] = []
    loader = _Loader(text)
    index = 0
    try:
        while loader.check_data():
            index += 1
            content = loader.get_data()
            if content is not None:
                documents.append(Document(source=source, index=index, content=content))
    except yaml.YAMLError as error:
        raise InputError(_describe_yaml_error(error), source=source, document=index or 1) from error
    finally:
        loader.dispose()
    return documents


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"


def load_documents(paths: Iterable[str | Path]) -> Iterator[Document]:
    """Every non-empty document of every file below the given paths."""
    for path in expand_paths(paths):
        source = "<stdin>" if path == "-" else str(path)
        yield from parse_documents(read_text(path), source=source)
