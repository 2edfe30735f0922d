"""The local media storage: atomic writes, reads, deletes that tidy up, and keys that cannot escape."""

from __future__ import annotations

from pathlib import Path

import pytest

from starling.storage import LocalMediaStorage, check_key, content_type_for


def _src(tmp_path: Path, data: bytes = b"pixels") -> Path:
    path = tmp_path / "src.bin"
    path.write_bytes(data)
    return path


def test_put_get_delete(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path / "media")
    key = "media_attachments/1/abc123/original.jpg"
    storage.put(key, _src(tmp_path))
    stored = storage.get(key)
    assert stored is not None
    assert stored.path.read_bytes() == b"pixels" and stored.size == 6 and stored.content_type == "image/jpeg"
    assert storage.exists(key)
    assert storage.all_keys() == [key]
    storage.put(key, _src(tmp_path, b"other"))  # replacing is atomic and leaves no temporary file
    assert storage.get(key) is not None and storage.get(key).path.read_bytes() == b"other"  # type: ignore[union-attr]
    assert storage.all_keys() == [key]
    storage.delete(key)
    storage.delete(key)  # twice is fine
    assert storage.get(key) is None and not storage.exists(key)
    # Empty directories go too.
    assert list((tmp_path / "media").iterdir()) == []


@pytest.mark.parametrize(
    "key",
    ["", "/etc/passwd", "../x.jpg", "a/../../x.jpg", "a/./x.jpg", "a//x.jpg", "a/..", "A/x.jpg", "a\\x.jpg",
     "a/x.jpg\x00", "a/ x.jpg", "a/.hidden.jpg", "a/x.jpg/", "x" * 500],
)
def test_malformed_keys_are_refused(tmp_path: Path, key: str) -> None:
    storage = LocalMediaStorage(tmp_path / "media")
    with pytest.raises(ValueError):
        check_key(key)
    with pytest.raises(ValueError):
        storage.put(key, _src(tmp_path))
    assert storage.get(key) is None
    assert not storage.exists(key)


def test_symlink_out_of_the_root_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "media"
    root.mkdir()
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"secret")
    (root / "link.png").symlink_to(secret)
    storage = LocalMediaStorage(root)
    assert storage.get("link.png") is None


def test_only_the_pipelines_formats_are_served(tmp_path: Path) -> None:
    storage = LocalMediaStorage(tmp_path / "media")
    storage.put("a/file.html", _src(tmp_path))
    assert storage.get("a/file.html") is None
    assert content_type_for("x.mp4") == "video/mp4" and content_type_for("x.svg") is None
