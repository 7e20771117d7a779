"""gallery-zip, installed: `gallery publish zip://…` end to end, and the publisher contract."""

import fcntl
import hashlib
import json
import zipfile

import pytest

from gallery_builder.publisher import PublishConflict
from gallery_builder.testing import PublisherContract, build_gallery, plugin_manager, run_cli


class TestZipPublisherContract(PublisherContract):
    """gallery-builder's conformance kit, run on a zip:// target."""

    @pytest.fixture
    def target(self, tmp_path):
        return f"zip://{tmp_path}/published/site.zip"


def site_files(out):
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in out.rglob("*")
        if p.is_file() and ".gallery" not in p.relative_to(out).parts
    }


def members(archive):
    with zipfile.ZipFile(archive) as z:
        return {info.filename: z.read(info) for info in z.infolist()}


def test_publish_writes_the_site_into_the_archive_under_its_name(site, tmp_path):
    archive = tmp_path / "out" / "site.zip"
    result = run_cli(["publish", f"zip://{archive}", "--site", site])
    assert result.exit_code == 0, result.output

    published = members(archive)
    assert published == {f"trip/{path}": data for path, data in site_files(site).items()}
    manifest = json.loads(published["trip/manifest.json"])
    assert "pending" not in manifest
    with zipfile.ZipFile(archive) as z:
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_DEFLATED}


def test_a_relative_target_is_relative_to_the_current_folder(site, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli(["publish", "zip://here/site.zip", "--site", site])
    assert result.exit_code == 0, result.output
    assert "trip/index.html" in members(tmp_path / "here" / "site.zip")


def test_a_second_publish_of_a_changed_site_replaces_and_deletes(photos, site, tmp_path):
    archive = tmp_path / "site.zip"
    assert run_cli(["publish", f"zip://{archive}", "--site", site]).exit_code == 0
    (photos / "Sea" / "wave.jpg").unlink()
    build_gallery(photos, site)
    result = run_cli(["publish", f"zip://{archive}", "--site", site])
    assert result.exit_code == 0, result.output
    assert members(archive) == {f"trip/{p}": d for p, d in site_files(site).items()}
    assert not any(name.startswith("trip/sea/") for name in members(archive))


def test_nothing_changed_leaves_the_archive_untouched(site, tmp_path):
    archive = tmp_path / "site.zip"
    run_cli(["publish", f"zip://{archive}", "--site", site])
    before = archive.stat().st_mtime_ns, archive.read_bytes()
    result = run_cli(["publish", f"zip://{archive}", "--site", site])
    assert result.exit_code == 0 and "up to date" in result.output
    assert (archive.stat().st_mtime_ns, archive.read_bytes()) == before


def test_compression_comes_from_the_option_then_the_setting(photos, tmp_path):
    settings = photos / "gallery.toml"
    settings.write_text(settings.read_text() + '\n[plugins.zip]\ncompression = "stored"\n')
    out = tmp_path / "site"
    build_gallery(photos, out)

    stored = tmp_path / "stored.zip"
    assert run_cli(["publish", f"zip://{stored}", "--site", out]).exit_code == 0
    deflated = tmp_path / "deflated.zip"
    result = run_cli(["publish", f"zip://{deflated}", "--site", out, "--compression", "deflated"])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(stored) as a, zipfile.ZipFile(deflated) as b:
        assert {i.compress_type for i in a.infolist()} == {zipfile.ZIP_STORED}
        assert {i.compress_type for i in b.infolist()} == {zipfile.ZIP_DEFLATED}


def test_a_publish_beside_another_is_refused_by_the_lock_file(site, tmp_path):
    archive = tmp_path / "site.zip"
    with open(f"{archive}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another publish holds it
        result = run_cli(["publish", f"zip://{archive}", "--site", site])
    assert result.exit_code == 1
    assert "another publish is writing" in result.output and "Traceback" not in result.output
    assert not archive.exists()


def zip_publisher_for(target):
    """The publisher the installed plugin's factory makes for ``target``."""
    factories = {}
    for answer in plugin_manager().hook.gallery_publishers():
        factories.update(answer or {})
    return factories["zip"](target)


def test_uploads_reach_the_archive_only_with_the_commit(tmp_path):
    publisher = zip_publisher_for(f"zip://{tmp_path}/site.zip")
    page = tmp_path / "index.html"
    page.write_bytes(b"<p>hello</p>")
    entry = {"md5": hashlib.md5(b"<p>hello</p>").hexdigest()}
    with publisher.lease("trip"):
        publisher.commit("trip/manifest.json", b"{}", None)
        publisher.upload("trip/index.html", page, entry)
        assert members(tmp_path / "site.zip") == {"trip/manifest.json": b"{}"}
        # but it is stored: a publish that stops here does not send it again
        assert publisher.existing({"trip/index.html": entry}) == {"trip/index.html"}
        publisher.commit("trip/manifest.json", b"{ }", hashlib.md5(b"{}").hexdigest())
    assert members(tmp_path / "site.zip") == {
        "trip/index.html": b"<p>hello</p>",
        "trip/manifest.json": b"{ }",
    }
    assert list((tmp_path / "site.zip.parts").iterdir()) == []


def test_the_commit_is_refused_when_the_manifest_moved_on(tmp_path):
    publisher = zip_publisher_for(f"zip://{tmp_path}/site.zip")
    etag = publisher.commit("trip/manifest.json", b"{}", None)
    with pytest.raises(PublishConflict):
        publisher.commit("trip/manifest.json", b"{ }", None)  # it exists now
    with pytest.raises(PublishConflict):
        publisher.commit("trip/manifest.json", b"{ }", "0" * 32)
    assert publisher.commit("trip/manifest.json", b"{ }", etag)
    assert members(tmp_path / "site.zip") == {"trip/manifest.json": b"{ }"}


def test_a_target_that_is_not_a_zip_path_is_a_usage_error(site, tmp_path):
    result = run_cli(["publish", f"zip://{tmp_path}/", "--site", site])
    assert result.exit_code in (1, 2)
    assert "zip:///absolute/path/site.zip" in result.output
