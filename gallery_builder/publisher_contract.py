"""The publisher conformance kit (public as ``gallery_builder.testing.PublisherContract``):
pytest tests a publisher's own test module subclasses, each checking one rule of the contract
(gallery_builder.publisher, docs/publishers.md) and saying which rule it broke.

The subclass gives a ``target`` fixture: a TARGET the publisher can write to at once (a fresh
one per test, e.g. ``zip:///tmp/x/site.zip``; for a store, its bucket already made). It may
also give ``publisher_options`` (keyword arguments for the factory, e.g. ``{"endpoint_url":
...}``), ``cli_options`` (the same as ``gallery publish`` options, e.g. ``["--endpoint-url",
URL]``) and ``publisher_plugins`` (plugin objects to register, when the publisher's plugin is
not installed through its entry point)::

    from gallery_builder.testing import PublisherContract

    class TestZipPublisher(PublisherContract):
        @pytest.fixture
        def target(self, tmp_path):
            return f"zip://{tmp_path}/site.zip"

pytest is imported inside the tests only: it is a test dependency, not gallery-builder's.
"""

from __future__ import annotations

import hashlib
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from gallery_builder.keys import join_key
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.publisher import (
    UPLOAD_WORKERS,
    NamesPrefix,
    PublishConflict,
    Publisher,
    check_publisher,
)

#: the prefix the kit's own keys go under, when the TARGET names none
KIT_PREFIX = "publisher-contract"


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _entry(data: bytes, content_type: str = "text/plain; charset=utf-8") -> dict[str, Any]:
    return {"md5": _md5(data), "size": len(data), "content_type": content_type,
            "cache_control": "no-cache"}  # fmt: skip


def _optional(request: Any, name: str, default: Any) -> Any:
    import pytest

    try:
        return request.getfixturevalue(name)
    except pytest.FixtureLookupError:
        return default


def _picture(path: Path, color: tuple[int, int, int]) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), color).save(path, "JPEG", quality=90)


def _fingerprints(manifest: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        path: (entry.get("md5"), entry.get("content_type"), entry.get("cache_control"))
        for path, entry in manifest["files"].items()
    }


class PublisherContract:
    """The rules every publisher keeps, as tests (see the module)."""

    # --- helpers -------------------------------------------------------------------------

    def open(self, request: Any, target: str) -> Publisher:
        """A publisher for ``target`` from its scheme's factory, as gallery publish makes it."""
        from gallery_builder.publishing import open_publisher
        from gallery_builder.testing import plugin_manager

        pm = plugin_manager(*_optional(request, "publisher_plugins", ()))
        return open_publisher(pm, target, **_optional(request, "publisher_options", {}))

    def prefix(self, publisher: Publisher) -> str:
        hint = publisher.prefix_hint if isinstance(publisher, NamesPrefix) else None
        return str(hint or KIT_PREFIX).removesuffix("/")

    def file(self, tmp_path: Path, name: str, data: bytes) -> Path:
        path = tmp_path / "kit-files" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    # --- the rules -----------------------------------------------------------------------

    def test_conformance(self, request: Any, target: str) -> None:
        publisher = self.open(request, target)
        check_publisher(publisher, type(publisher).__module__)  # raises, naming the members
        assert isinstance(publisher, Publisher), "rule: a publisher has every Publisher member"
        assert publisher.location, "rule: location names where the gallery goes, for messages"

    def test_read_of_a_missing_key_is_none(self, request: Any, target: str) -> None:
        publisher = self.open(request, target)
        key = join_key(self.prefix(publisher), "no-such-file.txt")
        assert publisher.read(key) is None, "rule: read() of a key that is absent returns None"

    def test_commit_without_a_base_creates_only(self, request: Any, target: str) -> None:
        import pytest

        publisher = self.open(request, target)
        prefix = self.prefix(publisher)
        key = join_key(prefix, MANIFEST_NAME)
        with publisher.lease(prefix):
            etag = publisher.commit(key, b'{"first": 1}\n', None).strip('"')
            assert etag == _md5(b'{"first": 1}\n'), (
                "rule: commit() returns the new ETag, the MD5 of the bytes written"
            )
            with pytest.raises(PublishConflict):
                publisher.commit(key, b'{"second": 2}\n', None)
                pytest.fail(
                    "rule: commit(key, data, None) writes only where no object is; over an "
                    "existing one it raises PublishConflict"
                )
        found = publisher.read(key)
        assert found is not None and found[0] == b'{"first": 1}\n', (
            "rule: a commit that raised PublishConflict wrote nothing"
        )
        assert found[1].strip('"') == etag, "rule: read() gives the ETag commit() returned"

    def test_commit_on_a_stale_etag_conflicts(self, request: Any, target: str) -> None:
        import pytest

        publisher = self.open(request, target)
        prefix = self.prefix(publisher)
        key = join_key(prefix, MANIFEST_NAME)
        with publisher.lease(prefix):
            first = publisher.commit(key, b"1\n", None).strip('"')
            second = publisher.commit(key, b"2\n", first).strip('"')
            assert second == _md5(b"2\n"), "rule: commit() on the current ETag writes"
            with pytest.raises(PublishConflict):
                publisher.commit(key, b"3\n", first)
                pytest.fail(
                    "rule: commit(key, data, base_etag) writes only if the object's ETag is "
                    "still base_etag; on a stale one it raises PublishConflict"
                )
        found = publisher.read(key)
        assert found is not None and found[0] == b"2\n", "rule: a refused commit wrote nothing"

    def test_a_retried_commit_finds_its_own_write(self, request: Any, target: str) -> None:
        from gallery_builder.publishing import _commit

        publisher = self.open(request, target)
        prefix = self.prefix(publisher)
        key = join_key(prefix, MANIFEST_NAME)
        data = b'{"retried": true}\n'
        with publisher.lease(prefix):
            publisher.commit(key, data, None)  # the first attempt landed; its answer was lost
            try:
                etag = _commit(publisher, key, data, None)  # the retry
            except PublishConflict:
                raise AssertionError(
                    "rule: commit() may be called twice with the same bytes (a retry); the "
                    "core then reads the key, and its ETag must be the MD5 of the bytes "
                    f"(read() gave {publisher.read(key)!r:.80})"
                ) from None
        assert etag == _md5(data), "rule: a retried commit's ETag is the MD5 of its bytes"

    def test_upload_then_existing(self, request: Any, target: str, tmp_path: Path) -> None:
        publisher = self.open(request, target)
        prefix = self.prefix(publisher)
        data = b"a picture's bytes\n"
        key = join_key(prefix, "album/one.txt")
        absent = join_key(prefix, "album/two.txt")
        with publisher.lease(prefix):
            publisher.upload(key, self.file(tmp_path, "one", data), _entry(data))
        found = publisher.read(key)
        assert found is not None and found[0] == data, "rule: upload() stores the file's bytes"
        assert found[1].strip('"') == _md5(data), "rule: read()'s ETag is the MD5 of the bytes"
        other = _entry(b"other bytes")
        seen = publisher.existing({key: _entry(data), absent: _entry(data)})
        assert key in seen, "rule: existing() names a key stored with the entry's bytes"
        assert absent not in seen, "rule: existing() leaves out a key that is absent"
        assert key not in publisher.existing({key: other}), (
            "rule: existing() leaves out a key whose bytes differ from the entry's md5"
        )

    def test_upload_over_other_bytes_conflicts(
        self, request: Any, target: str, tmp_path: Path
    ) -> None:
        import pytest

        publisher = self.open(request, target)
        prefix = self.prefix(publisher)
        key = join_key(prefix, "index.html")
        old, new = b"<p>old page</p>\n", b"<p>new page</p>\n"
        html = "text/html; charset=utf-8"
        with publisher.lease(prefix):
            publisher.upload(key, self.file(tmp_path, "old", old), _entry(old, html))
            with pytest.raises(PublishConflict):
                publisher.upload(key, self.file(tmp_path, "new", new), _entry(new, html),
                                 replaces=_md5(b"not what is there"))  # fmt: skip
                pytest.fail(
                    "rule: upload(..., replaces=MD5) writes only over an object holding that "
                    "MD5; over other bytes it raises PublishConflict"
                )
            found = publisher.read(key)
            assert found is not None and found[0] == old, "rule: a refused upload wrote nothing"
            publisher.upload(key, self.file(tmp_path, "new", new), _entry(new, html),
                             replaces=_md5(old))  # fmt: skip
            publisher.retag(key, _entry(new, "text/html"), replaces=_md5(new))
        found = publisher.read(key)
        assert found is not None and found[0] == new, (
            "rule: upload(..., replaces=MD5) over the object holding MD5 writes; retag() keeps "
            "the bytes"
        )

    def test_delete_of_a_missing_key_is_fine(
        self, request: Any, target: str, tmp_path: Path
    ) -> None:
        publisher = self.open(request, target)
        prefix = self.prefix(publisher)
        kept, gone = join_key(prefix, "kept.txt"), join_key(prefix, "gone.txt")
        with publisher.lease(prefix):
            publisher.upload(kept, self.file(tmp_path, "kept", b"kept\n"), _entry(b"kept\n"))
            publisher.upload(gone, self.file(tmp_path, "gone", b"gone\n"), _entry(b"gone\n"))
            try:
                publisher.delete([gone, join_key(prefix, "never-there.txt")])
            except Exception as exc:
                raise AssertionError(
                    f"rule: delete() of a key that is absent is not an error (raised {exc!r})"
                ) from exc
        assert publisher.read(gone) is None, "rule: delete() removes the keys it is given"
        assert publisher.read(kept) is not None, "rule: delete() removes only those keys"

    def test_the_lease_is_exclusive(self, request: Any, target: str) -> None:
        import pytest

        first, second = self.open(request, target), self.open(request, target)
        prefix = self.prefix(first)
        with first.lease(prefix), pytest.raises(PublishConflict), second.lease(prefix):
            pytest.fail(
                "rule: lease(prefix) is exclusive: while one publish holds it, another "
                "is refused at once with PublishConflict"
            )
        try:
            with second.lease(prefix):
                pass
        except PublishConflict as exc:
            raise AssertionError(
                f"rule: a lease is released when its block ends (taking it again said: {exc})"
            ) from None

    def test_uploads_from_many_threads(self, request: Any, target: str, tmp_path: Path) -> None:
        publisher = self.open(request, target)
        prefix = self.prefix(publisher)
        files = {join_key(prefix, f"many/{n:02}.txt"): f"file {n}\n".encode() for n in range(40)}

        def send(item: tuple[str, bytes]) -> None:
            key, data = item
            publisher.upload(key, self.file(tmp_path, key, data), _entry(data))

        with publisher.lease(prefix), ThreadPoolExecutor(max_workers=UPLOAD_WORKERS) as pool:
            list(pool.map(send, files.items()))
        wrong = [k for k, data in files.items() if (publisher.read(k) or (b"",))[0] != data]
        assert not wrong, (
            f"rule: upload() is thread-safe ({UPLOAD_WORKERS} threads at once): {len(wrong)} "
            f"of {len(files)} files were not stored as sent, e.g. {wrong[0] if wrong else ''}"
        )
        seen = publisher.existing({k: _entry(data) for k, data in files.items()})
        assert seen == set(files), "rule: existing() names every key stored with its bytes"

    def test_gallery_publish(self, request: Any, target: str, tmp_path: Path) -> None:
        from gallery_builder.testing import build_gallery, run_cli

        plugins = _optional(request, "publisher_plugins", ())
        options = [str(o) for o in _optional(request, "cli_options", [])]
        source, site = tmp_path / "contract-gallery", tmp_path / "contract-site"
        _picture(source / "red.jpg", (200, 30, 30))
        _picture(source / "Trip" / "blue.jpg", (30, 30, 200))
        build_gallery(source, site, *plugins)

        def publish() -> str:
            result = run_cli(["publish", target, "--site", site, *options], *plugins)
            assert result.exit_code == 0, (
                f"rule: gallery publish {target} succeeds (exit {result.exit_code}):\n"
                f"{result.output}{result.exception!r}"
            )
            return result.output

        first = json.loads((site / MANIFEST_NAME).read_bytes())
        publish()
        publisher = self.open(request, target)
        hint = publisher.prefix_hint if isinstance(publisher, NamesPrefix) else None
        prefix = str(hint or first["name"]).removesuffix("/")
        wrong = [
            path
            for path, entry in first["files"].items()
            if _md5((publisher.read(join_key(prefix, path)) or (b"",))[0]) != entry["md5"]
        ]
        assert not wrong, f"rule: a publish stores every file of the site: {wrong[:3]} are not"
        assert publisher.read(join_key(prefix, MANIFEST_NAME)) is not None, (
            "rule: the publish commits manifest.json"
        )
        assert "up to date, nothing sent" in publish(), (
            "rule: a second publish of the same site sends nothing (existing(), read() and "
            "the ETags must agree with the manifest)"
        )
        _picture(source / "red.jpg", (30, 200, 30))  # the same picture, changed
        build_gallery(source, site, *plugins)
        second = json.loads((site / MANIFEST_NAME).read_bytes())
        before, after = _fingerprints(first), _fingerprints(second)
        changed = [p for p, f in after.items() if before.get(p) != f]
        removed = [p for p in before if p not in after]
        summary = re.search(r"(\d+) uploaded, (\d+) deleted", publish())
        assert summary is not None and summary.groups() == (str(len(changed)), str(len(removed))), (
            f"rule: a publish sends only what changed ({len(changed)} files) and deletes only "
            f"what the site no longer has ({len(removed)}); it said {summary and summary[0]}"
        )
        for path in removed:
            assert publisher.read(join_key(prefix, path)) is None, (
                f"rule: a file the site no longer has is deleted ({path})"
            )
