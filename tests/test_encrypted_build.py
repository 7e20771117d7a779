"""The encrypted gallery's build (``gallery build --password-file FILE`` / GALLERY_PASSWORD):
what OUT publishes is ciphertext and the unlock shell only; each sealed file opens with the
key to the clear build's bytes; rebuilds and password changes; switching modes."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files

from gallery_builder.config import load_config
from gallery_builder.encryption import derive, file_id, open_sealed
from gallery_builder.encryption_state import clear_site_dir
from gallery_builder.pipeline import BuildResult, build
from gallery_builder.testing import build_gallery, plugin_manager, run_cli
from gallery_builder.unlock_shell import shell_files

PASSWORD = "correct horse battery staple ünïcödé"
TITLE = "Zanzibar Honeymoon Diary"
ALBUM = "Stone Town Rooftops"
CAPTION = "Mariam laughing at the dhow captain"
CAMERA = "Hasselblad X2D-100C"
NAMES = ("galata-sunset", "mariam-portrait", "dhow-harbour")
#: what a JPEG, PNG or WebP file begins with
MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF")
SECRETS = (TITLE, ALBUM, CAPTION, CAMERA, *NAMES, "Stone", "Zanzibar", "Mariam")


@pytest.fixture
def photos(source: Path) -> Path:
    """A gallery with a title, an album, a caption, camera EXIF and telling file names;
    originals published too (so the source files themselves are part of the site)."""
    (source / "gallery.toml").write_text(
        f'[gallery]\nname = "trip"\ntitle = "{TITLE}"\n\n[images]\noriginals = true\n',
        encoding="utf-8",
    )
    pictures.jpeg(source / f"{NAMES[0]}.jpg", make="Hasselblad", model=CAMERA)
    pictures.jpeg(source / ALBUM / f"{NAMES[1]}.jpg", taken="2024:05:17 10:42:00")
    (source / ALBUM / f"{NAMES[1]}.txt").write_text(CAPTION, encoding="utf-8")
    pictures.png(source / ALBUM / f"{NAMES[2]}.png")
    return source


def encrypted(source: Path, out: Path, password: str = PASSWORD, **kw) -> BuildResult:
    config = load_config(source)
    return build(config, out, plugin_manager(), jobs=1, password=password, **kw)


def published(out: Path) -> dict[str, bytes]:
    return site_files(out)  # every file but .gallery/


def keys_of(out: Path, password: str = PASSWORD):
    lock = json.loads((out / "_lock.json").read_bytes())
    return derive(password, base64.b64decode(lock["salt"]), iterations=lock["iterations"])


def opened(out: Path, password: str = PASSWORD) -> dict[str, bytes]:
    """Every sealed file, opened: logical path -> clear bytes (the logical paths from the
    sealed clear manifest itself)."""
    keys = keys_of(out, password)

    def open_path(path: str) -> bytes:
        fid = file_id(keys, path)
        return open_sealed(keys, fid, (out / "_x" / fid).read_bytes())

    clear_manifest = json.loads(open_path("manifest.json"))
    paths = [*clear_manifest["files"], "manifest.json"]
    return {path: open_path(path) for path in paths}


def test_every_published_file_is_ciphertext_or_the_unlock_shell(photos: Path, out: Path) -> None:
    encrypted(photos, out)
    clear = site_files(clear_site_dir(out))
    # the clear build holds every secret (so the checks below can fail)
    clear_bytes = b"".join(clear.values())
    for secret in SECRETS:
        assert secret.encode() in clear_bytes, secret
    assert any(data.startswith(MAGIC) for data in clear.values())
    files = published(out)
    shell = shell_files(lang="en", base_path="/trip/")
    assert set(files) == {"manifest.json", "_lock.json", *shell} | {
        f"_x/{fid}" for fid in (p.removeprefix("_x/") for p in files if p.startswith("_x/"))
    }
    assert len([p for p in files if p.startswith("_x/")]) == len(clear)  # its manifest too
    for path, data in files.items():
        assert not data.startswith(MAGIC), path
        for secret in SECRETS:
            assert secret.encode() not in data, (secret, path)
            assert secret.lower().encode() not in data.lower(), (secret, path)
        if path in shell:
            assert data == shell[path][0]
    # nothing under OUT but .gallery/ names a picture either
    for path in files:
        assert not any(name in path for name in NAMES)


def test_nothing_readable_is_anywhere_in_out_so_any_copy_of_it_is_safe(
    photos: Path, out: Path
) -> None:
    """``aws s3 sync OUT``, rsync or a web server serving OUT take .gallery/ too: the clear
    copy lives outside OUT, and no file or name under OUT, the build state included, holds a
    picture or a word of the gallery."""
    encrypted(photos, out)
    clear_dir = clear_site_dir(out)
    assert out.resolve() not in clear_dir.resolve().parents
    assert (clear_dir / "manifest.json").is_file()
    assert clear_dir.stat().st_mode & 0o777 == 0o700
    for path in out.rglob("*"):
        relative = path.relative_to(out).as_posix()
        assert not any(name in relative for name in NAMES), relative
        if path.is_file():
            data = path.read_bytes()
            assert not data.startswith(MAGIC), relative
            for secret in (TITLE, ALBUM, CAPTION, CAMERA):
                assert secret.encode() not in data, (secret, relative)


def test_the_published_manifest_lists_the_published_files_only(photos: Path, out: Path) -> None:
    encrypted(photos, out)
    manifest = read_manifest(out)
    assert manifest["title"] is None and manifest["encrypted"] == {"format": 1}
    assert manifest["name"] == "trip" and manifest["base_path"] == "/trip/"
    assert "albums" not in manifest and "images" not in manifest
    files = published(out)
    assert set(manifest["files"]) == set(files) - {"manifest.json"}
    clear = json.loads((clear_site_dir(out) / "manifest.json").read_bytes())
    keys = keys_of(out)
    for path, entry in manifest["files"].items():
        assert entry["md5"] == hashlib.md5(files[path]).hexdigest()
        assert entry["size"] == len(files[path])
        if path.startswith("_x/"):
            assert entry["content_type"] == "application/octet-stream"
    for path, entry in clear["files"].items():  # a sealed file's cache policy is the clear one's
        sealed = manifest["files"][f"_x/{file_id(keys, path)}"]
        assert sealed["cache_control"] == entry["cache_control"]
    assert manifest["files"]["_sw.js"]["content_type"].startswith("text/javascript")
    lock = json.loads(files["_lock.json"])
    assert lock["iterations"] == 600_000 and len(base64.b64decode(lock["salt"])) == 16


def test_each_sealed_file_opens_to_the_clear_builds_bytes(
    photos: Path, out: Path, tmp_path: Path
) -> None:
    encrypted(photos, out)
    plain = tmp_path / "plain"
    build_gallery(photos, plain)  # the same gallery built in the clear, elsewhere
    expected = site_files(plain)
    assert opened(out) == expected
    assert opened(out)["manifest.json"] == (plain / "manifest.json").read_bytes()
    fid = file_id(keys_of(out), "index.html")
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(derive("other", keys_of(out).salt), fid, (out / "_x" / fid).read_bytes())


def test_a_rebuild_writes_nothing_and_keeps_every_ciphertext(photos: Path, out: Path) -> None:
    encrypted(photos, out)
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    again = encrypted(photos, out)
    assert again.written == [] and again.removed == [] and again.sealed == 0
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == before  # the build state and the clear copy included
    assert "encrypted (0 files sealed)" in again.summary()


def test_one_changed_picture_seals_only_what_changed(photos: Path, out: Path) -> None:
    encrypted(photos, out)
    first_clear = site_files(clear_site_dir(out))
    first = published(out)
    pictures.png(photos / ALBUM / f"{NAMES[2]}.png", (200, 100))
    result = encrypted(photos, out)
    now_clear = site_files(clear_site_dir(out))
    changed = {p for p in now_clear if first_clear.get(p) != now_clear[p]}
    changed.add("manifest.json")
    assert 0 < result.sealed == len(changed) < len(now_clear)
    keys = keys_of(out)
    now = published(out)
    for path in now_clear:
        key = f"_x/{file_id(keys, path)}"
        if path not in changed:
            assert now[key] == first[key], path  # the same ciphertext, not sealed again
    assert set(result.removed) == {p for p in first if p not in now}
    assert opened(out) == opened_clear(out)


def test_a_new_password_takes_a_new_salt_and_seals_everything_again(
    photos: Path, out: Path
) -> None:
    encrypted(photos, out)
    first = published(out)
    result = encrypted(photos, out, password="a whole other passphrase")
    now = published(out)
    assert json.loads(now["_lock.json"])["salt"] != json.loads(first["_lock.json"])["salt"]
    sealed_before = {p for p in first if p.startswith("_x/")}
    sealed_now = {p for p in now if p.startswith("_x/")}
    assert sealed_before.isdisjoint(sealed_now) and len(sealed_now) == len(sealed_before)
    assert set(result.removed) == sealed_before
    assert result.sealed == len(sealed_now)
    assert opened(out, "a whole other passphrase") == opened_clear(out)
    old_keys, new_keys = keys_of(out, PASSWORD), keys_of(out, "a whole other passphrase")
    assert not (out / "_x" / file_id(old_keys, "index.html")).exists()
    fid = file_id(new_keys, "index.html")
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(old_keys, fid, (out / "_x" / fid).read_bytes())
    # and back: the same password twice is a no-op again
    assert encrypted(photos, out, password="a whole other passphrase").written == []


def opened_clear(out: Path) -> dict[str, bytes]:
    clear = clear_site_dir(out)
    return {**site_files(clear), "manifest.json": (clear / "manifest.json").read_bytes()}


def test_the_password_is_never_written_or_printed(
    photos: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "Tr0ub4dor&3-never-seen"
    password_file = tmp_path / "password.txt"
    password_file.write_text(secret + "\n", encoding="utf-8")
    first = run_cli(["build", photos, "-o", out, "--password-file", password_file])
    assert first.exit_code == 0, first.output
    monkeypatch.setenv("GALLERY_PASSWORD", secret)
    second = run_cli(["build", photos, "-o", out])  # the same password: a no-op
    assert second.exit_code == 0, second.output
    assert "0 files written" in second.output
    for result in (first, second):
        assert secret not in result.output and secret not in (result.stderr or "")
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            forms = (secret.encode(), secret.encode("utf-16-le"), secret.encode().hex().encode())
            for form in forms:
                assert form not in data, path
    assert (out / ".gallery" / "state.sqlite").is_file()
    assert opened(out, secret)


def test_gallery_password_in_the_environment_encrypts_the_build(
    photos: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALLERY_PASSWORD", PASSWORD)
    result = run_cli(["build", photos, "-o", out])
    assert result.exit_code == 0, result.output
    assert "encrypted" in result.output
    assert opened(out) == opened_clear(out)


def test_a_clear_site_becomes_encrypted_and_its_clear_files_go(photos: Path, out: Path) -> None:
    build_gallery(photos, out)
    clear_files = set(published(out))
    result = encrypted(photos, out)
    now = set(published(out))
    gone = clear_files - now
    assert gone and set(result.removed) == gone
    assert all(not any(name in p for name in NAMES) for p in now)
    assert now & clear_files == {"index.html", "error.html", "manifest.json"} & clear_files
    assert not list(out.glob("**/*.jpg"))  # not even under .gallery/


def test_an_encrypted_site_is_built_in_the_clear_only_with_no_encryption(
    photos: Path, out: Path, tmp_path: Path
) -> None:
    encrypted(photos, out)
    sealed = published(out)
    refused = run_cli(["build", photos, "-o", out])
    assert refused.exit_code == 2
    assert "was encrypted" in refused.output and "--no-encryption" in refused.output
    assert published(out) == sealed  # nothing changed
    result = run_cli(["build", photos, "-o", out, "--no-encryption"])
    assert result.exit_code == 0, result.output
    plain = tmp_path / "plain"
    build_gallery(photos, plain)
    assert published(out) == site_files(plain)  # no sealed file, no shell file left
    assert not clear_site_dir(out).exists()
    again = build_gallery(photos, out)  # now a clear OUT: no flag needed, and a no-op
    assert again.written == []


def test_a_lost_build_state_still_knows_the_site_was_encrypted(photos: Path, out: Path) -> None:
    encrypted(photos, out)
    (out / ".gallery" / "state.sqlite").unlink()
    refused = run_cli(["build", photos, "-o", out])
    assert refused.exit_code == 2 and "was encrypted" in refused.output


def test_a_broken_picture_is_still_skipped_and_named(
    photos: Path, out: Path, tmp_path: Path
) -> None:
    pictures.truncated_jpeg(photos / "broken.jpg")
    password_file = tmp_path / "pw"
    password_file.write_text(PASSWORD, encoding="utf-8")
    result = run_cli(["build", photos, "-o", out, "--password-file", password_file])
    assert result.exit_code == 0, result.output
    assert "skipped broken.jpg" in result.output
    assert not any("broken" in p for p in opened(out))
    before = published(out)
    strict = run_cli(["build", photos, "-o", out, "--password-file", password_file, "--strict"])
    assert strict.exit_code == 1 and "skipped broken.jpg" in strict.output
    assert published(out) == before


def test_clear_then_encrypted_then_clear_again_gives_the_clear_site(
    photos: Path, out: Path, tmp_path: Path
) -> None:
    build_gallery(photos, out)
    clear = published(out)
    encrypted(photos, out)
    back = build(load_config(photos), out, plugin_manager(), jobs=1, no_encryption=True)
    assert published(out) == clear and back.written  # built again, not taken for a no-op
    assert "_lock.json" in back.removed


def test_a_noop_encrypted_build_of_a_read_only_output_writes_nothing(
    photos: Path, out: Path, unprivileged: list[str]
) -> None:
    from conftest import gallery
    from test_read_only_output import chmod_tree, everything_in

    encrypted(photos, out)
    chmod_tree(photos, writable=True)
    chmod_tree(out, writable=False)
    try:
        before = everything_in(out)
        done = gallery("build", photos, "-o", out, prefix=unprivileged, env={
            "GALLERY_PASSWORD": PASSWORD})  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "0 files written" in done.stdout and "(0 files sealed)" in done.stdout
        assert everything_in(out) == before
    finally:
        chmod_tree(out, writable=True)


def test_the_first_encrypted_build_of_a_clear_site_makes_no_image_again(
    photos: Path, out: Path, tmp_path: Path
) -> None:
    first = build_gallery(photos, out)
    assert first.made == 3
    result = encrypted(photos, out)
    assert (result.made, result.reused) == (0, 3)
    plain = tmp_path / "plain"
    build_gallery(photos, plain)
    assert opened(out) == site_files(plain)
    assert encrypted(photos, out).written == []  # and then a no-op
    pictures.png(photos / ALBUM / f"{NAMES[2]}.png", (200, 100))  # still incremental
    changed = encrypted(photos, out)
    assert (changed.made, changed.reused) == (1, 2)
    build_gallery(photos, plain)
    assert opened(out) == site_files(plain)


def test_the_source_folders_name_is_nowhere_in_out_the_settings_record_included(
    tmp_path: Path,
) -> None:
    """A source folder is often named for what it holds: the settings record naming it (for
    `gallery publish` with no TARGET) is the clear copy's, not OUT's (found by the review)."""
    from conftest import gallery

    from gallery_builder.plugin_manager import NO_AUTOLOAD_ENV

    source = tmp_path / "Ana and Bruno Wedding"
    pictures.jpeg(source / "Ceremony" / "kiss.jpg", (320, 240))
    (tmp_path / "pw").write_text(PASSWORD + "\n", encoding="utf-8")
    out = tmp_path / "site"
    done = gallery(
        "build", source, "-o", out, "--password-file", tmp_path / "pw", "-q",
        env={NO_AUTOLOAD_ENV: "1", "GALLERY_PASSWORD": ""},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    readable = [
        str(path.relative_to(out))
        for path in out.rglob("*")
        if path.is_file() and b"Ana and Bruno" in path.read_bytes()
    ]
    assert readable == []
