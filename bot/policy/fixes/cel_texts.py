"""Text values for a string field a CEL test reads.

A string test rarely pins the whole value: `image.startsWith('registry/')`
wants some image under that registry, `!image.endsWith(':latest')` some
other tag, `label != ''` any text at all. So besides literals (which
`cel_candidates` tries), a text field gets values derived from what it holds
now and from the test: an image moved under a required registry (exact, as
pattern fixes do), an image pinned to a version or digest, the required
prefix or suffix around a placeholder, and last a placeholder that says in
words what the test wants (`<a value matching ^v[0-9]+$>`).
"""

from __future__ import annotations

import re
from typing import Any

from bot.policy.fixes import cel_moves as moves, cel_syntax as syntax, values_synthesis
from bot.policy.fixes.cel_moves import Candidate, Chain, Miss
from bot.policy.fixes.cel_paths import Path, Reader
from bot.policy.fixes.deny_edits import Edit

_IMAGE_FIELDS = frozenset({"image"})
_NOT_IN_PLACEHOLDER = re.compile(r"[<>{}]")
_VERBS = {
    "startsWith": ("starting with", "not starting with"),
    "endsWith": ("ending with", "not ending with"),
    "contains": ("containing", "without"),
    "matches": ("matching", "not matching"),
}


def for_text(chain: Chain, path: Path, current: Any, reader: Reader) -> list[Candidate]:
    """Text values for a string field: derived guesses, then placeholders."""
    found: list[Candidate] = []
    text = current if isinstance(current, str) else ""
    argument = chain.argument(reader)
    argument = argument if isinstance(argument, str) else None
    if path and path[-1] in _IMAGE_FIELDS and text:
        found += _images(chain, path, text, argument)
    if chain.test == "startsWith" and argument is not None and chain.wanted:
        found.append(moves.placeholder(path, argument + values_synthesis.SET_A_VALUE))
    if chain.test in ("endsWith", "contains") and argument is not None and chain.wanted:
        found.append(moves.placeholder(path, values_synthesis.SET_A_VALUE + argument))
    described = describe(chain.miss, chain.node)
    found.append(moves.placeholder(path, described))
    trusted = Edit("set", path, described, placeholder=True)
    found.append(Candidate((trusted,), moves.TRUSTED, free=(path,)))
    return found


def _images(chain: Chain, path: Path, text: str, argument: str | None) -> list[Candidate]:
    """An image moved to a required registry (exact), or pinned (guided)."""
    found: list[Candidate] = []
    rest = _without_registry(text)
    registry = _registry(argument) if chain.test == "startsWith" else None
    if registry is not None and chain.wanted:
        found.append(Candidate((Edit("set", path, f"{registry}/{rest}"),), moves.EXACT))
    elif registry is not None:
        found.append(moves.placeholder(path, f"<a registry other than {registry}>/{rest}"))
    name = _image_name(text)
    found.append(moves.placeholder(path, f"{name}:{values_synthesis.PIN_A_VERSION}"))
    found.append(moves.placeholder(path, f"{name}@sha256:{values_synthesis.PIN_A_DIGEST}"))
    return found


def describe(miss: Miss, node: syntax.Node) -> str:
    """A `<...>` text that says what the field must become."""
    text = _wanted(miss, node)
    # NB: a placeholder is recognised by its angle brackets, and manifests are
    # read for `{{...}}` variables, so neither may appear inside.
    return "<" + _NOT_IN_PLACEHOLDER.sub("", text) + ">"


def _wanted(miss: Miss, node: syntax.Node) -> str:
    leaf, want = miss.node, miss.want
    anything = values_synthesis.SET_A_VALUE[1:-1]
    if isinstance(leaf, syntax.Binary):
        other = leaf.right if leaf.left is node else leaf.left
        known, value = syntax.literal_value(other)
        shown = _shown(value) if known else ""
        if shown and leaf.op in ("==", "!="):
            equal = (leaf.op == "==") == want
            if value == "" and not equal:
                return anything
            return f"a value {'equal to' if equal else 'other than'} {shown}"
        if shown and leaf.op == "in" and leaf.left is node:
            return f"{'one of' if want else 'a value not in'} {shown}"
    if isinstance(leaf, syntax.Call) and leaf.function in _VERBS and leaf.args:
        known, value = syntax.literal_value(leaf.args[0])
        if known and isinstance(value, str):
            verbs = _VERBS[leaf.function]
            return f"a value {verbs[0] if want else verbs[1]} {value}"
    return anything


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value) or "nothing"
    if isinstance(value, str):
        return value or "''"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _registry(prefix: str | None) -> str | None:
    """The registry (or registry path) a prefix test names: `ghcr.io`, `corp.io/team/`."""
    if prefix is None:
        return None
    if prefix.endswith("/"):
        return prefix.rstrip("/") or None
    first = prefix.split("/", 1)[0]
    # A bare host is a registry too; a prefix cut inside a name or tag is not.
    if "/" not in prefix and ("." in first or ":" in first or first == "localhost"):
        return prefix
    return None


def _image_name(reference: str) -> str:
    """The image without its tag or digest."""
    name = reference.split("@", 1)[0]
    colon = name.rfind(":")
    return name[:colon] if colon > name.rfind("/") else name


def _without_registry(reference: str) -> str:
    first, slash, rest = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return rest
    return reference
