"""Kyverno CLI `Values` and `UserInfo` files: what a cluster would have told us.

Offline, the Kyverno CLI takes variables, the request operation, namespace
labels and the requesting user from these files. We read them into plain
lookups the runner consults per policy, rule and resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.errors import InputError
from bot.policy import documents
from bot.policy.requests import UserInfo


@dataclass(frozen=True)
class Values:
    global_values: Mapping[str, Any] = field(default_factory=dict)
    rule_values: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    """Variables per (policy, rule)."""
    foreach_values: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    resource_values: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)
    """Variables per (policy, resource name)."""
    namespace_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    namespaces: tuple[Mapping[str, Any], ...] = ()

    def for_resource(self, policy: str, resource_name: str) -> Mapping[str, Any]:
        merged = dict(self.global_values)
        merged.update(self.resource_values.get((policy, resource_name), {}))
        return merged

    def rules_of(self, policy: str) -> dict[str, Mapping[str, Any]]:
        return {rule: values for (name, rule), values in self.rule_values.items() if name == policy}

    def operation_for(self, policy: str, resource_name: str) -> str:
        values = self.for_resource(policy, resource_name)
        return str(values.get("request.operation") or "CREATE").upper()


def load_values(path: Path) -> Values:
    content = _single_document(path)
    rule_values: dict[tuple[str, str], Mapping[str, Any]] = {}
    foreach_values: dict[tuple[str, str], Mapping[str, Any]] = {}
    resource_values: dict[tuple[str, str], Mapping[str, Any]] = {}
    for index, policy in enumerate(_list(content, "policies", path)):
        name = str(policy.get("name", ""))
        for rule in _list(policy, "rules", path, f"policies[{index}]"):
            rule_values[(name, str(rule.get("name", "")))] = _mapping(rule.get("values"))
            if rule.get("foreachValues") is not None:
                foreach_values[(name, str(rule.get("name", "")))] = _mapping(
                    rule.get("foreachValues")
                )
        for resource in _list(policy, "resources", path, f"policies[{index}]"):
            resource_values[(name, str(resource.get("name", "")))] = _mapping(
                resource.get("values")
            )
    namespace_labels = {
        str(entry.get("name", "")): {
            str(k): str(v) for k, v in _mapping(entry.get("labels")).items()
        }
        for entry in _list(content, "namespaceSelector", path)
    }
    namespaces = tuple(_list(content, "namespaces", path))
    for namespace in namespaces:
        metadata = _mapping(namespace.get("metadata"))
        labels = _mapping(metadata.get("labels"))
        namespace_labels.setdefault(
            str(metadata.get("name", "")), {str(k): str(v) for k, v in labels.items()}
        )
    return Values(
        global_values=_mapping(content.get("globalValues")),
        rule_values=rule_values,
        foreach_values=foreach_values,
        resource_values=resource_values,
        namespace_labels=namespace_labels,
        namespaces=namespaces,
    )


def load_user_info(path: Path) -> UserInfo:
    content = _single_document(path)
    user = _mapping(content.get("userInfo"))
    return UserInfo(
        username=str(user.get("username") or ""),
        uid=str(user.get("uid") or ""),
        groups=tuple(str(g) for g in user.get("groups") or ()),
        roles=tuple(str(r) for r in content.get("roles") or ()),
        cluster_roles=tuple(str(r) for r in content.get("clusterRoles") or ()),
    )


def _single_document(path: Path) -> Mapping[str, Any]:
    docs = documents.parse_documents(documents.read_text(path), source=str(path))
    if not docs or not isinstance(docs[0].content, Mapping):
        raise InputError("must hold one mapping document", source=str(path))
    return docs[0].content


def _list(
    content: Mapping[str, Any], key: str, path: Path, prefix: str = ""
) -> list[Mapping[str, Any]]:
    value = content.get(key)
    if value is None:
        return []
    field_name = f"{prefix}.{key}" if prefix else key
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise InputError("must be a list of mappings", source=str(path), field=field_name)
    return value


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
