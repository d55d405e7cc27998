"""Kyverno's encoding functions: base64, hashes, parse_json and parse_yaml.

Go decodes base64 strictly (padding required) but skips line breaks, which
Secrets often contain. parse_yaml goes through `sigs.k8s.io/yaml`, i.e. YAML
1.1 as go-yaml v2 reads it and then JSON: `yes`, `on` and `y` are booleans,
`1e3` is a number, but dates stay strings and `10:30` is no sexagesimal
number. `_GoYamlLoader` adjusts PyYAML's resolvers to match.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
from collections.abc import Hashable
from typing import Any, ClassVar

import yaml

from bot.policy.jmespath import values
from bot.policy.jmespath.errors import FunctionError
from bot.policy.jmespath.signatures import STRING, signature

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_BOOL_TAG = "tag:yaml.org,2002:bool"
_GO_INT = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_GO_FLOAT = re.compile(
    r"^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class _GoYamlLoader(yaml.SafeLoader):
    """PyYAML's safe loader, resolving plain scalars the way go-yaml v2 does."""

    bool_values: ClassVar[dict[str, bool]] = {
        **yaml.SafeLoader.bool_values,
        "y": True,
        "n": False,
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        # Keys become strings while the mapping is built: a YAML `1` and
        # `true` are distinct keys in Go, but one and the same in a dict.
        self.flatten_mapping(node)
        return {
            _yaml_key(self.construct_object(key, deep=deep)): self.construct_object(
                value, deep=deep
            )
            for key, value in node.value
        }


_GoYamlLoader.yaml_implicit_resolvers = {
    first: [
        (tag, pattern)
        for tag, pattern in resolvers
        if tag not in (_TIMESTAMP_TAG, _INT_TAG, _FLOAT_TAG)
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_GoYamlLoader.add_implicit_resolver(_FLOAT_TAG, _GO_FLOAT, list("-+0123456789."))
_GoYamlLoader.add_implicit_resolver(_INT_TAG, _GO_INT, list("-+0123456789"))
_GoYamlLoader.add_implicit_resolver(_BOOL_TAG, re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))


def decode_base64(text: str) -> str:
    """Go's `base64.StdEncoding.DecodeString`, returning UTF-8 text."""
    data = text.replace("\r", "").replace("\n", "")
    padding = len(data) - len(data.rstrip("="))
    if len(data) % 4 or padding > 2 or "=" in data.rstrip("="):
        raise ValueError("illegal base64 data")
    try:
        raw = base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ValueError("illegal base64 data") from None
    # NB: Go keeps arbitrary bytes in a string; invalid UTF-8 shows up as
    # U+FFFD once Kyverno renders it, so decode the same way.
    return raw.decode("utf-8", errors="replace")


def parse_yaml_document(text: str) -> Any:
    """The first YAML document in `text`, as JSON-compatible data."""
    documents = yaml.load_all(text, Loader=_GoYamlLoader)
    try:
        first = next(iter(documents), None)
    except yaml.YAMLError as error:
        raise ValueError(str(error).replace("\n", " ")) from None
    return _jsonable(first)


def _jsonable(value: Any) -> Any:
    """Mirror `sigs.k8s.io/yaml`'s conversion of YAML data into JSON."""
    if isinstance(value, dict):
        return {_yaml_key(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, set):
        return {_yaml_key(key): None for key in value}
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"json: unsupported value: {values.go_format_g(value)}")
    return value


def _yaml_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return values.go_float32_text(key)
    raise ValueError(f"Unsupported map key of type: {type(key).__name__}, key: {key!r}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


class EncodingFunctions:
    """Mixin for `KyvernoFunctions`; the `_func_` prefix registers each one."""

    @signature(STRING)
    def _func_base64_decode(self, text: str) -> str:
        try:
            return decode_base64(text)
        except ValueError as error:
            raise FunctionError("base64_decode", str(error)) from None

    @signature(STRING)
    def _func_base64_encode(self, text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    @signature(STRING)
    def _func_sha256(self, text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @signature(STRING)
    def _func_sha1(self, text: str) -> str:
        return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    @signature(STRING)
    def _func_md5(self, text: str) -> str:
        return hashlib.md5(text.encode("utf-8"), usedforsecurity=False).hexdigest()

    @signature(STRING)
    def _func_parse_json(self, text: str) -> Any:
        # Go's decoder knows no NaN or Infinity, Python's does by default.
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except ValueError as error:
            raise FunctionError("parse_json", str(error)) from None

    @signature(STRING)
    def _func_parse_yaml(self, text: str) -> Any:
        try:
            return parse_yaml_document(text)
        except ValueError as error:
            raise FunctionError("parse_yaml", str(error)) from None
