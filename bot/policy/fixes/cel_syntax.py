"""A syntax tree for CEL expressions, so that fixes can see their structure.

The CEL library we evaluate with compiles expressions but does not hand
back their tree, and fix synthesis needs it: which fields an expression
reads, which literals it compares them with, where `&&`, `||` and the list
macros split it into parts that can be judged one by one. This parser
follows the grammar in the CEL language definition closely enough for the
expressions policies hold; anything it does not know (message literals,
optional list entries) raises `SyntaxProblem`, and the caller then derives
no fix, rather than a wrong one.

Every node keeps its span in the source, so a part of an expression can be
evaluated on its own by slicing the text (see `text`).

See: https://github.com/google/cel-spec/blob/master/doc/langdef.md#syntax
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.policy.cel import rewriting
from bot.policy.cel.rewriting import Token

MACROS = frozenset({"all", "exists", "exists_one", "filter", "map"})
"""Calls whose first argument names an iteration variable."""

_RELATIONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
_ESCAPES = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


class SyntaxProblem(ValueError):
    """The expression uses syntax this parser does not read."""


@dataclass(frozen=True)
class Node:
    start: int
    end: int


@dataclass(frozen=True)
class Literal(Node):
    value: Any


@dataclass(frozen=True)
class Ident(Node):
    name: str


@dataclass(frozen=True)
class Select(Node):
    operand: Node
    field: str
    optional: bool = False


@dataclass(frozen=True)
class Index(Node):
    operand: Node
    index: Node
    optional: bool = False


@dataclass(frozen=True)
class Call(Node):
    target: Node | None
    function: str
    args: tuple[Node, ...] = ()

    @property
    def is_macro(self) -> bool:
        return (
            self.target is not None
            and self.function in MACROS
            and len(self.args) in (2, 3)
            and isinstance(self.args[0], Ident)
        )


@dataclass(frozen=True)
class ListLit(Node):
    items: tuple[Node, ...] = ()


@dataclass(frozen=True)
class MapLit(Node):
    entries: tuple[tuple[Node, Node], ...] = ()


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Conditional(Node):
    condition: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True)
class Parsed:
    source: str
    root: Node

    def text(self, node: Node) -> str:
        """The node's own source, parenthesised so it can stand anywhere."""
        return f"({self.source[node.start : node.end]})"


@lru_cache(maxsize=2048)
def parse(source: str) -> Parsed:
    """The tree of one expression; raises SyntaxProblem."""
    parser = _Parser(source, rewriting.tokenize(source))
    root = parser.expression()
    if parser.position != len(parser.tokens):
        raise SyntaxProblem(f"unexpected {parser.peek_text()!r} after the expression")
    return Parsed(source, root)


def children(node: Node) -> Iterator[Node]:
    """The direct sub-expressions of a node, left to right."""
    if isinstance(node, Select):
        yield node.operand
    elif isinstance(node, Index):
        yield node.operand
        yield node.index
    elif isinstance(node, Call):
        if node.target is not None:
            yield node.target
        yield from node.args
    elif isinstance(node, ListLit):
        yield from node.items
    elif isinstance(node, MapLit):
        for key, value in node.entries:
            yield key
            yield value
    elif isinstance(node, Unary):
        yield node.operand
    elif isinstance(node, Binary):
        yield node.left
        yield node.right
    elif isinstance(node, Conditional):
        yield node.condition
        yield node.then
        yield node.otherwise


def walk(node: Node) -> Iterator[Node]:
    """The node and everything below it, parents first."""
    yield node
    for child in children(node):
        yield from walk(child)


def literal_value(node: Node) -> tuple[bool, Any]:
    """(True, value) for a literal or a list of literals, else (False, None)."""
    if isinstance(node, Literal):
        return True, node.value
    if isinstance(node, ListLit):
        values = [literal_value(item) for item in node.items]
        if all(known for known, _ in values):
            return True, [value for _, value in values]
    if isinstance(node, Unary) and node.op == "-":
        known, value = literal_value(node.operand)
        if known and isinstance(value, int | float) and not isinstance(value, bool):
            return True, -value
    return False, None


class _Parser:
    def __init__(self, source: str, tokens: list[Token]) -> None:
        self.source = source
        self.tokens = tokens
        self.position = 0

    # Token helpers.

    def peek_text(self, ahead: int = 0) -> str:
        index = self.position + ahead
        return self.tokens[index].text if index < len(self.tokens) else ""

    def take(self, text: str | None = None) -> Token:
        if self.position >= len(self.tokens):
            raise SyntaxProblem("the expression ends too early")
        token = self.tokens[self.position]
        if text is not None and token.text != text:
            raise SyntaxProblem(f"expected {text!r}, found {token.text!r}")
        self.position += 1
        return token

    def accept(self, text: str) -> bool:
        if self.peek_text() == text and self.position < len(self.tokens):
            self.position += 1
            return True
        return False

    # Precedence levels, loosest first.

    def expression(self) -> Node:
        condition = self.logical("||")
        if not self.accept("?"):
            return condition
        then = self.logical("||")
        self.take(":")
        otherwise = self.expression()
        return Conditional(condition.start, otherwise.end, condition, then, otherwise)

    def logical(self, op: str) -> Node:
        left = self.logical("&&") if op == "||" else self.relation()
        while self.peek_text() == op:
            self.take()
            right = self.logical("&&") if op == "||" else self.relation()
            left = Binary(left.start, right.end, op, left, right)
        return left

    def relation(self) -> Node:
        left = self.additive()
        while self.peek_text() in _RELATIONS and self._is_operator():
            op = self.take().text
            right = self.additive()
            left = Binary(left.start, right.end, op, left, right)
        return left

    def additive(self) -> Node:
        left = self.multiplicative()
        while self.peek_text() in ("+", "-") and self._is_operator():
            op = self.take().text
            right = self.multiplicative()
            left = Binary(left.start, right.end, op, left, right)
        return left

    def multiplicative(self) -> Node:
        left = self.unary()
        while self.peek_text() in ("*", "/", "%") and self._is_operator():
            op = self.take().text
            right = self.unary()
            left = Binary(left.start, right.end, op, left, right)
        return left

    def unary(self) -> Node:
        if self.peek_text() in ("!", "-") and self._is_operator():
            token = self.take()
            operand = self.unary()
            return Unary(token.start, operand.end, token.text, operand)
        return self.member()

    def _is_operator(self) -> bool:
        token = self.tokens[self.position]
        return token.kind == "punct" or token.text == "in"

    # Postfix chains and primaries.

    def member(self) -> Node:
        node = self.primary()
        while True:
            text = self.peek_text()
            if text in (".", ".?"):
                self.take()
                name = self.take()
                if name.kind != "ident":
                    raise SyntaxProblem(f"expected a field name, found {name.text!r}")
                if text == "." and self.peek_text() == "(":
                    args, end = self.arguments()
                    node = Call(node.start, end, node, name.text, args)
                else:
                    node = Select(node.start, name.end, node, name.text, text == ".?")
            elif text in ("[", "[?"):
                self.take()
                index = self.expression()
                close = self.take("]")
                node = Index(node.start, close.end, node, index, text == "[?")
            else:
                return node

    def arguments(self) -> tuple[tuple[Node, ...], int]:
        self.take("(")
        args: list[Node] = []
        while self.peek_text() != ")":
            args.append(self.expression())
            if not self.accept(","):
                break
        return tuple(args), self.take(")").end

    def primary(self) -> Node:
        token = self.take()
        if token.text == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if token.text == "[":
            items: list[Node] = []
            while self.peek_text() != "]":
                items.append(self.expression())
                if not self.accept(","):
                    break
            return ListLit(token.start, self.take("]").end, tuple(items))
        if token.text == "{":
            entries: list[tuple[Node, Node]] = []
            while self.peek_text() != "}":
                key = self.expression()
                self.take(":")
                entries.append((key, self.expression()))
                if not self.accept(","):
                    break
            return MapLit(token.start, self.take("}").end, tuple(entries))
        if token.kind == "string":
            return Literal(token.start, token.end, _string_value(token.text))
        if token.kind == "number":
            return Literal(token.start, token.end, _number_value(token.text))
        if token.kind == "ident":
            return self.identifier(token)
        raise SyntaxProblem(f"unexpected {token.text!r}")

    def identifier(self, token: Token) -> Node:
        constants = {"true": True, "false": False, "null": None}
        if token.text in constants:
            return Literal(token.start, token.end, constants[token.text])
        if self.peek_text() == "(":
            args, end = self.arguments()
            return Call(token.start, end, None, token.text, args)
        if self.peek_text() == "{":
            raise SyntaxProblem("message literals are not read")
        return Ident(token.start, token.end, token.text)


def _number_value(text: str) -> int | float:
    body = text.rstrip("uU")
    if body.lower().startswith("0x"):
        return int(body, 16)
    if any(c in body for c in ".eE"):
        return float(body)
    return int(body)


def _string_value(text: str) -> str | bytes:
    prefix_length = len(text) - len(text.lstrip("rRbB"))
    prefix, quoted = text[:prefix_length].lower(), text[prefix_length:]
    quote = 3 if quoted[:3] in ('"""', "'''") else 1
    body = quoted[quote:-quote]
    value = body if "r" in prefix else _ESCAPES.sub(_unescape, body)
    return value.encode() if "b" in prefix else value


def _unescape(found: re.Match[str]) -> str:
    code = found.group(1)
    if code[0] in "xuU":
        return chr(int(code[1:], 16))
    if len(code) == 3 and code.isdigit():
        return chr(int(code, 8))
    return _SIMPLE_ESCAPES.get(code, code)
