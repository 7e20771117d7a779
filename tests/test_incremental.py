"""Incremental builds: no work for what did not change, exactly the work for what did."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files
from gallery_builder.plugins.file_publisher import FilePublisher

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError
from gallery_builder.publishing import publish
from gallery_builder.testing import build_gallery, run_cli


class CountingPlugin:
    """Counts calls of the per-file hooks and of the executor, wrapping the real answers."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    @hookimpl(wrapper=True)
    def gallery_identify(self, source, config):
        self.calls["identify"] += 1
        return (yield)

    @hookimpl(wrapper=True)
    def gallery_fingerprint(self, source, config):
        self.calls["fingerprint"] += 1
        return (yield)

    @hookimpl(wrapper=True)
    def gallery_read_metadata(self, source, config):
        self.calls["metadata"] += 1
        return (yield)

    @hookimpl(wrapper=True)
    def gallery_executor(self, config, jobs):
        self.calls["executor"] += 1
        return (yield)


def mtimes(out: Path) -> dict[str, int]:
    return {
        p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()
    }


@pytest.fixture
def album(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "b.jpg", (300, 200), taken="2024:01:02 10:00:00")
    pictures.png(source / "Sub" / "c.png")
    pictures.webp(source / "Sub" / "d.webp")
    return source


def files_of(out: Path, source_relpath: str) -> set[str]:
    for image in read_manifest(out)["images"]:
        if image["source"] == source_relpath:
            return {p for k, p in image["derivatives"].items() if k != "thumbnail"}
    return set()


def test_noop_rebuild_rewrites_nothing(album: Path, out: Path) -> None:
    build_gallery(album, out)
    before = mtimes(out)
    result = build_gallery(album, out)
    assert (result.written, result.removed, result.made, result.reused) == ([], [], 0, 4)
    assert mtimes(out) == before  # the build state included


def test_noop_rebuild_reads_no_picture_and_starts_no_worker(album: Path, out: Path) -> None:
    counting = CountingPlugin()  # the same plugin in both builds: the plugin set is unchanged
    build_gallery(album, out, counting)
    assert counting.calls == {"identify": 4, "fingerprint": 4, "metadata": 4, "executor": 1}
    counting.calls.clear()
    build_gallery(album, out, counting)
    assert counting.calls == {}


def test_touched_but_unchanged_picture_is_hashed_but_not_rebuilt(album: Path, out: Path) -> None:
    counting = CountingPlugin()
    build_gallery(album, out, counting)
    os.utime(album / "a.jpg", ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    counting.calls.clear()
    result = build_gallery(album, out, counting)
    assert counting.calls == {"identify": 1, "fingerprint": 1, "metadata": 1}
    assert result.written == [] and result.made == 0


def test_changed_picture_rebuilds_only_its_own_images(album: Path, out: Path) -> None:
    build_gallery(album, out)
    old_a, old_b = files_of(out, "a.jpg"), files_of(out, "b.jpg")
    before = mtimes(out)
    pictures.jpeg(album / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")  # new content
    result = build_gallery(album, out)
    new_a = files_of(out, "a.jpg")
    assert result.made == 1 and result.reused == 3
    assert new_a.isdisjoint(old_a)  # immutable names: new content, new names
    images_written = {f for f in result.written if not f.endswith((".html", ".json"))}
    assert images_written == new_a
    assert set(result.removed) == old_a  # the stale images leave OUT
    assert all(not (out / f).exists() for f in old_a)
    assert "manifest.json" in result.written and "index.html" in result.written
    assert "sub/index.html" not in result.written  # its page did not change
    after = mtimes(out)
    for f in old_b | files_of(out, "Sub/c.png"):
        assert after[f] == before[f], f
    assert files_of(out, "b.jpg") == old_b


def test_removed_picture_leaves_the_site_and_the_manifest(album: Path, out: Path) -> None:
    build_gallery(album, out)
    gone = files_of(out, "Sub/d.webp")
    (album / "Sub" / "d.webp").unlink()
    result = build_gallery(album, out)
    assert set(result.removed) == gone
    manifest = read_manifest(out)
    assert "Sub/d.webp" not in {i["source"] for i in manifest["images"]}
    assert not gone & set(manifest["files"])
    assert not any((out / f).exists() for f in gone)


def test_removed_album_leaves_no_page_or_folder(album: Path, out: Path) -> None:
    build_gallery(album, out)
    for f in (album / "Sub").iterdir():
        f.unlink()
    result = build_gallery(album, out)
    assert "sub/index.html" in result.removed
    assert not (out / "sub").exists()


@pytest.mark.parametrize(
    ("setting", "touched"),
    [
        ("quality = {webp = 50, jpeg = 85}", lambda f: f.endswith(".webp")),
        ("thumbnail = [200, 200]", lambda f: ".thumb." in f),
        ("sizes = [100, 640, 1280, 2048]", lambda f: ".100." in f),
        ("strip_gps = false", lambda f: ".thumb." not in f),
    ],
)
def test_a_setting_change_rebuilds_exactly_what_it_shapes(album: Path, out: Path, setting, touched):
    build_gallery(album, out)
    before = {f: m for f, m in mtimes(out).items() if not f.endswith((".html", ".json", ".css"))}
    before = {f: m for f, m in before.items() if not f.startswith(".gallery")}
    (album / "gallery.toml").write_text(f"[images]\n{setting}\n")
    result = build_gallery(album, out)
    images_written = {f for f in result.written if not f.endswith((".html", ".json"))}
    assert images_written, "the setting changed nothing"
    assert all(touched(f) for f in images_written), images_written
    after = mtimes(out)
    for f, mtime in before.items():
        if not touched(f):
            assert after.get(f) == mtime, f"{f} was rebuilt though {setting!r} does not shape it"


def test_force_rebuilds_everything(album: Path, out: Path) -> None:
    build_gallery(album, out)
    result = run_cli(["build", album, "-o", out, "--force"])
    assert result.exit_code == 0, result.output
    assert "4 built, 0 reused" in result.output
    published = set(site_files(out))
    rebuilt = build_gallery(album, out, force=True)
    assert set(rebuilt.written) == published


def test_a_deleted_output_file_is_made_again(album: Path, out: Path) -> None:
    build_gallery(album, out)
    lost = sorted(files_of(out, "b.jpg"))[0]
    (out / lost).unlink()
    result = build_gallery(album, out)
    assert result.made == 1 and lost in result.written
    assert (out / lost).is_file()


def test_files_the_build_did_not_write_are_never_deleted(album: Path, out: Path) -> None:
    build_gallery(album, out)
    (out / "CNAME").write_text("photos.example.com\n")
    (out / "sub" / "notes.txt").write_text("mine\n")
    (album / "b.jpg").unlink()
    for f in (album / "Sub").iterdir():
        f.unlink()
    build_gallery(album, out)
    assert (out / "CNAME").read_text() == "photos.example.com\n"
    assert (out / "sub" / "notes.txt").read_text() == "mine\n"


def test_a_caption_sidecar_change_rewrites_pages_not_images(album: Path, out: Path) -> None:
    counting = CountingPlugin()
    build_gallery(album, out, counting)
    (album / "a.txt").write_text("A new caption", encoding="utf-8")
    counting.calls.clear()
    result = build_gallery(album, out, counting)
    assert counting.calls == {"identify": 1, "metadata": 1}  # not hashed: same content
    assert result.made == 0
    assert set(result.written) == {"index.html", "manifest.json"}
    assert "A new caption" in (out / "index.html").read_text()


def test_a_theme_change_rewrites_pages_not_images(album: Path, out: Path, tmp_path: Path) -> None:
    build_gallery(album, out)
    theme = tmp_path / "mytheme" / "static"
    theme.mkdir(parents=True)
    (theme / "style.css").write_text("body { color: rebeccapurple; }\n")
    result = build_gallery(album, out, theme=str(tmp_path / "mytheme"))
    assert result.made == 0
    assert all(f.endswith((".html", ".json", ".css")) for f in result.written)
    assert any(f.startswith("_static/style.") for f in result.removed)


def test_editing_a_theme_file_in_place_rewrites_the_pages(album: Path, out: Path, tmp_path: Path):
    theme = tmp_path / "mytheme" / "templates"
    theme.mkdir(parents=True)
    (theme / "error.html").write_text("first")
    build_gallery(album, out, theme=str(tmp_path / "mytheme"))
    assert build_gallery(album, out, theme=str(tmp_path / "mytheme")).written == []
    (theme / "error.html").write_text("second version")
    result = build_gallery(album, out, theme=str(tmp_path / "mytheme"))
    assert result.written == ["error.html", "manifest.json"]
    assert (out / "error.html").read_text() == "second version"


def test_adding_a_plugin_rebuilds_what_it_changes(album: Path, out: Path) -> None:
    class Stamp:
        @hookimpl
        def gallery_manifest_fields(self, site, config):
            return {"stamp": "yes"}

    build_gallery(album, out)
    result = build_gallery(album, out, Stamp())
    assert result.written == ["manifest.json"]
    assert read_manifest(out)["stamp"] == "yes"


def test_a_noop_build_still_reports_skipped_pictures(album: Path, out: Path) -> None:
    pictures.truncated_jpeg(album / "broken.jpg")
    first = run_cli(["build", album, "-o", out])
    assert "skipped broken.jpg: corrupt or truncated" in first.stderr
    again = run_cli(["build", album, "-o", out])
    assert again.exit_code == 0
    assert "4 pictures in 2 albums: 0 built, 4 reused, 1 skipped" in again.stdout
    assert "skipped broken.jpg: corrupt or truncated" in again.stderr
    assert run_cli(["build", album, "-o", out, "--strict"]).exit_code == 1


def test_an_interrupted_build_keeps_the_images_it_made(album: Path, out: Path) -> None:
    from gallery_builder.plugins.executor import InlineExecutor

    class StopAfterTwo(InlineExecutor):
        calls = 0

        def submit(self, fn, /, *args, **kwargs):
            StopAfterTwo.calls += 1
            if StopAfterTwo.calls == 3:
                raise KeyboardInterrupt  # Ctrl-C while the third picture is made
            return super().submit(fn, *args, **kwargs)

    class Interrupting:
        @hookimpl
        def gallery_executor(self, config, jobs):
            return StopAfterTwo()

    with pytest.raises(KeyboardInterrupt):
        build_gallery(album, out, Interrupting())
    assert not (out / "manifest.json").exists()
    resumed = build_gallery(album, out)
    assert (resumed.made, resumed.reused) == (2, 2)  # the two finished pictures are reused
    assert len(read_manifest(out)["images"]) == 4
    assert build_gallery(album, out).written == []


def test_a_failed_strict_build_does_not_fool_the_next_build(album: Path, out: Path) -> None:
    build_gallery(album, out)
    pictures.jpeg(album / "new.jpg")
    pictures.empty(album / "broken.jpg")
    with pytest.raises(GalleryError, match="--strict"):
        build_gallery(album, out, strict=True)
    assert "new.jpg" not in {i["source"] for i in read_manifest(out)["images"]}
    result = build_gallery(album, out)
    # the failed build changed nothing, so new.jpg's images are made now
    assert (result.made, result.reused) == (1, 4)
    assert "new.jpg" in {i["source"] for i in read_manifest(out)["images"]}
    assert "index.html" in result.written


def test_an_incremental_build_equals_a_clean_build_after_adding_a_size(
    source: Path, tmp_path: Path
) -> None:
    # A big JPEG is decoded at a DCT scale chosen for its largest image: adding a larger size
    # changes how its small images are made, so their names must change too.
    pictures.jpeg(source / "big.jpg", (1600, 1200))
    (source / "gallery.toml").write_text("[images]\nsizes = [100]\nthumbnail = [64, 48]\n")
    incremental = tmp_path / "incremental"
    build_gallery(source, incremental)
    (source / "gallery.toml").write_text("[images]\nsizes = [100, 1500]\nthumbnail = [64, 48]\n")
    build_gallery(source, incremental)
    build_gallery(source, tmp_path / "clean")
    assert site_files(incremental) == site_files(tmp_path / "clean")


def test_quality_does_not_remake_lossless_png_images(album: Path, out: Path) -> None:
    (album / "gallery.toml").write_text('[images]\nformats = ["png"]\nquality = 90\n')
    build_gallery(album, out)
    (album / "gallery.toml").write_text('[images]\nformats = ["png"]\nquality = 50\n')
    result = build_gallery(album, out)
    assert result.made == 0 and result.written == []


def test_a_new_plugin_sees_every_picture_again(album: Path, out: Path) -> None:
    class Rating:
        @hookimpl(wrapper=True)
        def gallery_read_metadata(self, source, config):
            metadata = yield
            return dataclasses.replace(metadata, extra={"rating": 5})

    counting = CountingPlugin()
    build_gallery(album, out, counting)
    counting.calls.clear()
    result = build_gallery(album, out, counting, Rating())
    assert counting.calls == {"identify": 4, "metadata": 4}  # read again, not hashed again
    assert result.made == 0
    assert all(i["extra"] == {"rating": 5} for i in read_manifest(out)["images"])
    build_gallery(album, out, counting)  # and without it again: the ratings go
    assert all("extra" not in i for i in read_manifest(out)["images"])


def test_a_failing_sibling_does_not_rename_a_picture(source: Path, out: Path) -> None:
    pictures.truncated_jpeg(source / "Good.jpg")
    pictures.png(source / "good.png")
    build_gallery(source, out)
    first = {i["slug"] for i in read_manifest(out)["images"]}
    pictures.jpeg(source / "other.jpg")  # an unrelated change
    result = build_gallery(source, out)
    assert {i["slug"] for i in read_manifest(out)["images"]} == first | {"other"}
    assert result.removed == [] and result.made == 1


def test_the_same_source_named_another_way_is_still_a_noop(album: Path, out: Path) -> None:
    counting = CountingPlugin()
    build_gallery(album, out, counting)
    counting.calls.clear()
    result = build_gallery(Path(os.path.relpath(album)), out, counting)
    assert result.written == [] and result.made == 0
    assert counting.calls == {}  # not even read again


def site_names(out: Path) -> dict[str, set[str]]:
    """Each picture's published names: its slug, album and images (derivatives)."""
    return {
        i["source"]: {i["slug"], f"album:{i['album']}", *i["derivatives"].values()}
        for i in read_manifest(out)["images"]
    }


@pytest.mark.parametrize(
    "added",
    [
        ["中国.jpg"],  # sorts before 日本.jpg: it took `picture` and renamed 日本 `picture-2`
        ["☀.png", "😀.jpg"],  # ☀ sorts before 日本 too
        ["cat!!.jpg", "CAT!.png"],  # sharing a slug with cat.jpg, not nearer to it
        ["日本/中国.jpg", "中国/a.jpg", "Trip!/b.jpg"],  # albums too
        ["大阪 1.jpg", "Ελλάδα 1.jpg"],  # all that is left of them is 東京 1's "1"
        ["中国 2024/z.jpg"],  # and of this folder, 写真 2024's "2024"
    ],
)
def test_adding_pictures_renames_no_other_picture_or_album(
    source: Path, out: Path, added: list[str]
) -> None:
    for name in ["a.jpg", "日本.jpg", "cat.jpg", "Cat!.jpg", "東京 1.jpg", "日本/x.jpg",
                 "Trip/y.jpg", "写真 2024/w.jpg"]:  # fmt: skip
        pictures.jpeg(source / name)
    build_gallery(source, out)
    before = site_names(out)
    for name in added:
        pictures.jpeg(source / name, (200, 100))
    result = build_gallery(source, out)
    after = site_names(out)
    assert {name: after[name] for name in before} == before
    assert result.made == len(added) and result.removed == []


@pytest.mark.parametrize(
    "removed",
    [["Cat.jpg"], ["中国.jpg"], ["Cat.jpg", "cat!.jpg", "中国.jpg"], ["中国/a.jpg", "Trip/a.jpg"]],
)
def test_removing_pictures_renames_no_other_picture_or_album(
    source: Path, out: Path, removed: list[str]
) -> None:
    names = ["Cat.jpg", "cat!.jpg", "cat.jpg", "日本.jpg", "中国.jpg"]
    names += ["中国/a.jpg", "日本/b.jpg", "Trip/a.jpg", "trip/b.jpg"]
    for name in names:
        pictures.jpeg(source / name)
    build_gallery(source, out)
    before = site_names(out)
    for name in removed:
        (source / name).unlink()
    result = build_gallery(source, out)
    kept = {name: names for name, names in before.items() if name not in removed}
    assert site_names(out) == kept
    assert result.made == 0


def test_a_new_non_latin_picture_sends_only_its_own_images(source: Path, out: Path) -> None:
    for name in ["日本.jpg", "😀.jpg", "Tokyo/東京.jpg"]:
        pictures.jpeg(source / name)
    build_gallery(source, out)
    target = FilePublisher(out.parent / "www")
    publish(out, target, "photos")
    pictures.jpeg(source / "中国.jpg")
    build_gallery(source, out)
    plan = publish(out, target, "photos").plan
    image = next(i for i in read_manifest(out)["images"] if i["source"] == "中国.jpg")
    new = set(image["derivatives"].values())
    images = {u.path for u in plan.uploads if not u.path.endswith((".html", ".json"))}
    assert images == new
    assert plan.deletes == ()


def test_two_builds_of_odd_names_are_byte_identical(source: Path, tmp_path: Path) -> None:
    long = "the long walk along the river " * 7
    for name in ["日本.jpg", "Cat.jpg", "cat.jpg", f"{long}a.jpg", f"{long}b.jpg", "😀/x.jpg",
                 f"{'ç' * 120}/y.png"]:  # fmt: skip
        pictures.jpeg(source / name)
    build_gallery(source, tmp_path / "one")
    build_gallery(source, tmp_path / "two")
    assert site_files(tmp_path / "one") == site_files(tmp_path / "two")
