"""Reading manifests to check: lists, multi-document files and bad input."""

from __future__ import annotations

import pytest

from bot.errors import InputError
from bot.policy import documents, manifests


def test_list_kind_expands_into_items(tmp_path):
    """`kubectl get -o yaml` output is checked object by object."""
    path = tmp_path / "list.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        "- {apiVersion: v1, kind: Pod, metadata: {name: a}}\n"
        "- {apiVersion: v1, kind: Pod, metadata: {name: b}}\n"
    )

    loaded = manifests.load_manifests([path])

    assert [m.content["metadata"]["name"] for m in loaded] == ["a", "b"]
    assert [m.pointer_prefix for m in loaded] == ["/items/0", "/items/1"]


def test_plain_object_sits_at_the_document_root(tmp_path):
    """Only List items need a pointer prefix to be patched in their file."""
    path = tmp_path / "pod.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n")

    [loaded] = manifests.load_manifests([path])

    assert loaded.item is None
    assert loaded.pointer_prefix == ""


def test_empty_documents_are_ignored(tmp_path):
    """Separators with nothing between them are not manifests."""
    path = tmp_path / "m.yaml"
    path.write_text("---\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\n")

    loaded = manifests.load_manifests([path])

    assert len(loaded) == 1
    assert loaded[0].document == 2


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("kind: Pod\nmetadata: {name: a}\n", "apiVersion"),
        ("apiVersion: v1\nmetadata: {name: a}\n", "kind"),
        ("apiVersion: v1\nkind: Pod\n", "metadata.name"),
    ],
)
def test_incomplete_manifest_names_the_field(tmp_path, text, field):
    """A manifest that does not say what it is cannot pass by accident."""
    path = tmp_path / "m.yaml"
    path.write_text(text)

    with pytest.raises(InputError) as caught:
        manifests.load_manifests([path])

    assert caught.value.field == field


def test_scalar_document_is_rejected(tmp_path):
    """A document that is not a mapping is reported with its position."""
    path = tmp_path / "m.yaml"
    path.write_text("just a string\n")

    with pytest.raises(InputError, match="document 1"):
        manifests.load_manifests([path])


def test_oversized_file_is_refused(tmp_path, monkeypatch):
    """Huge input is refused with a size message instead of exhausting memory."""
    monkeypatch.setattr(documents, "MAX_FILE_BYTES", 64)
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * 100)

    with pytest.raises(InputError, match="larger than"):
        manifests.load_manifests([path])


def test_binary_file_is_refused(tmp_path):
    """Non-UTF-8 bytes give a readable error, not a decode traceback."""
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00")

    with pytest.raises(InputError, match="not UTF-8"):
        manifests.load_manifests([path])
