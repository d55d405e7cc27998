"""Source-level rewrites of CEL expressions, done on tokens so strings stay intact.

Two Kubernetes and Kyverno behaviours have no switch in the CEL library we
use, so we express them in plain CEL before compiling:

- `variables.<name>` is evaluated lazily and at most once per request. We bind
  each referenced variable with `cel.bind`, which the library evaluates
  lazily too, so an unused variable that would fail never fails the check.
- Kyverno lets `.orValue(x)` follow a value that is not optional and returns
  that value unchanged. We wrap such receivers so they take either path.

The scanner knows just enough CEL lexis (identifiers, the four string quote
styles with raw and bytes prefixes, numbers, `.?` and `[?`) to never rewrite
text inside a string literal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(
    r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<string>(?:[rR][bB]?|[bB][rR]?)?(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"
        |'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[uU]?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<punct>\.\?|\[\?|==|!=|<=|>=|&&|\|\||.)
    """,
    re.VERBOSE,
)
_RAW_PREFIX = re.compile(r"[rRbB]{1,2}$")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_OPENERS = frozenset({"(", "[", "[?", "{"})
_SELECTORS = (".", ".?")
COMPAT_PREFIX = "ov__"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int


def tokenize(source: str) -> list[Token]:
    """The tokens of an expression, without whitespace and comments."""
    tokens: list[Token] = []
    for match in _TOKEN.finditer(source):
        kind = match.lastgroup or "punct"
        if kind == "space":
            continue
        # NB: `r'...'` lexes as the identifier `r` then a string; glue them.
        if kind == "string" and tokens and _glued_prefix(tokens[-1], match.start()):
            prefix = tokens.pop()
            tokens.append(Token("string", prefix.text + match.group(), prefix.start, match.end()))
            continue
        tokens.append(Token(kind, match.group(), match.start(), match.end()))
    return tokens


@lru_cache(maxsize=4096)
def mentions(source: str, identifier: str) -> bool:
    """Whether the expression names a top-level identifier (not a field)."""
    tokens = tokenize(source)
    return any(
        token.kind == "ident" and token.text == identifier and not _is_field(tokens, index)
        for index, token in enumerate(tokens)
    )


def variable_references(source: str) -> list[str]:
    """Names used as `variables.<name>`, in order of first use."""
    names: list[str] = []
    for _, _, name in _variable_spans(tokenize(source)):
        if name not in names:
            names.append(name)
    return names


def replace_variables(source: str, replacements: Mapping[str, str]) -> str:
    """Replace each `variables.<name>` found in `replacements` by its identifier."""
    pieces: list[str] = []
    cursor = 0
    for start, end, name in _variable_spans(tokenize(source)):
        if name in replacements:
            pieces.append(source[cursor:start])
            pieces.append(replacements[name])
            cursor = end
    pieces.append(source[cursor:])
    return "".join(pieces)


@lru_cache(maxsize=1024)
def with_lenient_or_value(source: str) -> str:
    """Let every `.orValue(...)` accept a receiver that is not optional.

    Each `R.orValue(D)` becomes a binding that calls `orValue` only when `R`
    turns out to be optional at run time, and otherwise yields `R` itself.
    """
    counter = 0
    while True:
        tokens = tokenize(source)
        call = _next_plain_or_value(tokens)
        if call is None:
            return source
        receiver_start, dot, close = call
        receiver = source[tokens[receiver_start].start : tokens[dot].start]
        default = source[tokens[dot + 3].start : tokens[close].start] if close > dot + 3 else ""
        name = f"{COMPAT_PREFIX}{counter}"
        counter += 1
        wrapped = (
            f"cel.bind({name}, dyn({receiver}), "
            f"type({name}) == optional_type ? {name}.orValue({default}) : {name})"
        )
        source = source[: tokens[receiver_start].start] + wrapped + source[tokens[close].end :]


@lru_cache(maxsize=4096)
def may_pass_optional(source: str, functions: frozenset[str]) -> bool:
    """Whether an optional value might reach one of `functions` as an argument.

    True when the expression calls one of them and also makes an optional
    (`a.?b`, `m[?k]`, `optional.of(x)`) that is not unwrapped right away in
    the same chain by `orValue`, `value` or `hasValue`. Conservative: an
    optional unwrapped later, say through a variable, still counts.
    """
    tokens = tokenize(source)
    calls = any(
        token.kind == "ident" and _is_call(tokens, index) and _call_name(tokens, index) in functions
        for index, token in enumerate(tokens)
    )
    return calls and any(
        _makes_optional(tokens, index) and not _unwrapped_later(tokens, index)
        for index in range(len(tokens))
    )


def _glued_prefix(token: Token, string_start: int) -> bool:
    return (
        token.kind == "ident" and token.end == string_start and bool(_RAW_PREFIX.match(token.text))
    )


def _is_field(tokens: list[Token], index: int) -> bool:
    return index > 0 and tokens[index - 1].text in _SELECTORS


def _variable_spans(tokens: list[Token]) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    for index in range(len(tokens) - 2):
        first, dot, name = tokens[index], tokens[index + 1], tokens[index + 2]
        if first.kind != "ident" or first.text != "variables" or _is_field(tokens, index):
            continue
        if dot.text == "." and name.kind == "ident":
            spans.append((first.start, name.end, name.text))
    return spans


def _next_plain_or_value(tokens: list[Token]) -> tuple[int, int, int] | None:
    """(receiver start, dot, closing paren) of the first call not yet wrapped."""
    for dot in range(1, len(tokens) - 2):
        if tokens[dot].text != "." or tokens[dot + 1].text != "orValue":
            continue
        if tokens[dot + 2].text != "(":
            continue
        receiver_start = _receiver_start(tokens, dot - 1)
        if receiver_start is None:
            continue
        head = tokens[receiver_start]
        if receiver_start == dot - 1 and head.text.startswith(COMPAT_PREFIX):
            continue
        close = _matching_close(tokens, dot + 2)
        if close is None:
            return None
        return receiver_start, dot, close
    return None


def _receiver_start(tokens: list[Token], last: int) -> int | None:
    """Walk back over the postfix chain that ends at token `last`."""
    position = last
    while position >= 0:
        token = tokens[position]
        if token.text in _CLOSERS:
            opener = _matching_open(tokens, position)
            if opener is None:
                return None
            before = tokens[opener - 1] if opener > 0 else None
            # A call or an index continues the chain leftwards; a bare
            # parenthesis, list or map literal starts it.
            if before is not None and _continues_chain(tokens[opener], before):
                position = opener - 1
                continue
            return opener
        if token.kind == "ident":
            if position >= 2 and tokens[position - 1].text in _SELECTORS:
                position -= 2
                continue
            if position >= 1 and tokens[position - 1].text == ".":
                return position - 1
            return position
        if token.kind in ("string", "number"):
            return position
        return None
    return None


def _continues_chain(opener: Token, before: Token) -> bool:
    if before.kind == "ident":
        return True
    # After a closer, only an index continues: `f(x)[0]`, `a[0][1]`.
    return before.text in _CLOSERS and opener.text != "("


def _matching_open(tokens: list[Token], close: int) -> int | None:
    depth = 0
    for position in range(close, -1, -1):
        text = tokens[position].text
        if text in _CLOSERS:
            depth += 1
        elif text in _OPENERS:
            depth -= 1
            if depth == 0:
                return position
    return None


def _matching_close(tokens: list[Token], open_: int) -> int | None:
    depth = 0
    for position in range(open_, len(tokens)):
        text = tokens[position].text
        if text in _OPENERS:
            depth += 1
        elif text in _CLOSERS:
            depth -= 1
            if depth == 0:
                return position
    return None


_UNWRAPPERS = frozenset({"orValue", "value", "hasValue"})


def _is_call(tokens: list[Token], index: int) -> bool:
    return index + 1 < len(tokens) and tokens[index + 1].text == "("


def _call_name(tokens: list[Token], index: int) -> str:
    """`sets.contains` for a namespaced function, else the bare name."""
    name = tokens[index].text
    if index >= 2 and tokens[index - 1].text == "." and tokens[index - 2].text in ("sets", "lists"):
        return f"{tokens[index - 2].text}.{name}"
    return name


def _makes_optional(tokens: list[Token], index: int) -> bool:
    token = tokens[index]
    if token.text == ".?":
        return True
    if token.text == "[?":
        # `m[?k]` makes an optional; `[?x, y]` in a list literal consumes one.
        return index > 0 and (
            tokens[index - 1].kind == "ident" or tokens[index - 1].text in _CLOSERS
        )
    return (
        token.text == "optional"
        and not _is_field(tokens, index)
        and index + 1 < len(tokens)
        and tokens[index + 1].text == "."
    )


def _unwrapped_later(tokens: list[Token], index: int) -> bool:
    """Whether the chain holding the optional made at `index` unwraps it."""
    position = index + 1
    if tokens[index].text == "[?":
        close = _matching_close(tokens, index)
        position = len(tokens) if close is None else close + 1
    while position < len(tokens):
        text = tokens[position].text
        if text in _SELECTORS and position + 1 < len(tokens):
            name = tokens[position + 1].text
            if _is_call(tokens, position + 1) and name in _UNWRAPPERS:
                return True
            position += 2
        elif text in ("(", "[", "[?"):
            close = _matching_close(tokens, position)
            if close is None:
                return False
            position = close + 1
        elif tokens[position].kind == "ident" and tokens[position - 1].text in _SELECTORS:
            position += 1
        else:
            return False
    return False
