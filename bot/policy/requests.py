"""What the engine knows about one admission request.

Kyverno judges a request, not just an object: the operation, the requesting
user and the labels of the target namespace all take part in matching. The
CLI, the test runner and the bot each build one of these from what they have.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.policy import resources


@dataclass(frozen=True)
class UserInfo:
    """The requesting user, as Kyverno's request.userInfo plus RBAC roles."""

    username: str = ""
    uid: str = ""
    groups: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    """Namespaced roles, as "namespace:name"."""
    cluster_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdmissionRequest:
    """One object under admission, with the facts matching needs."""

    object: resources.Manifest
    operation: str = "CREATE"
    old_object: resources.Manifest | None = None
    namespace_labels: Mapping[str, str] = field(default_factory=dict)
    user_info: UserInfo | None = None
    subresource: str = ""

    @property
    def ref(self) -> resources.ResourceRef:
        return resources.ref_of(self.object)

    @property
    def subject(self) -> Mapping[str, Any]:
        """The object to judge: the new one, or the old one on DELETE."""
        if self.operation == "DELETE" and self.old_object is not None:
            return self.old_object
        return self.object
