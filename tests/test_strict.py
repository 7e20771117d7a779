"""``--strict``: a skipped picture fails the build before anything in OUT changes; and media
that cannot be published yet (HEIC, videos, camera raw…) is named and counts as skipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pictures
import pytest
from conftest import gallery, read_manifest

from gallery_builder.testing import build_gallery


def everything_in(out: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``out``, the build state included."""
    return {
        p.relative_to(out).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(out.rglob("*"))
    }


def heic(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200))


BAD = {
    "cut": lambda folder: pictures.truncated_jpeg(folder / "cut.jpg"),  # found while decoding
    "empty": lambda folder: pictures.empty(folder / "empty.png"),  # found while identifying
    "heic": lambda folder: heic(folder / "IMG_0001.HEIC"),
}


@pytest.mark.parametrize("bad", BAD.values(), ids=BAD.keys())
def test_a_failing_strict_build_changes_nothing_in_the_output(
    source: Path, out: Path, bad: Callable[[Path], None]
) -> None:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Trip" / "b.jpg", taken="2024:01:02 10:00:00")
    build_gallery(source, out)
    before = everything_in(out)
    # new pictures (images to make), a new caption (a page to write), and one bad picture
    pictures.jpeg(source / "Trip" / "c.jpg", (900, 600), taken="2024:01:03 10:00:00")
    pictures.jpeg(source / "New" / "d.jpg", taken="2024:01:04 10:00:00")
    (source / "a.txt").write_text("a new caption")
    bad(source / "Trip")
    result = gallery("build", source, "-o", out, "--strict", "-j", "2")
    assert result.returncode == 1
    assert "--strict" in result.stderr and "Traceback" not in result.stderr
    assert everything_in(out) == before
    # without --strict, the same build goes on and publishes the good pictures
    assert gallery("build", source, "-o", out).returncode == 0
    assert {"a.jpg", "Trip/b.jpg", "Trip/c.jpg", "New/d.jpg"} <= {
        i["source"] for i in read_manifest(out)["images"]
    }


def iso_media(brand: bytes) -> bytes:
    return b"\x00\x00\x00\x18ftyp" + brand + b"\x00\x00\x02\x00" + brand + b"isom" + bytes(64)


MEDIA = {
    "IMG_0001.HEIC": (iso_media(b"heic"), "HEIC"),
    "IMG_0002.heif": (iso_media(b"mif1"), "HEIF"),
    "burst.avifs": (bytes(64), "AVIF sequence"),
    "clip.MP4": (iso_media(b"isom"), "MP4"),
    "clip2.m4v": (iso_media(b"M4V "), "M4V"),
    "trip.MOV": (iso_media(b"qt  "), "MOV"),
    "phone.3gp": (iso_media(b"3gp4"), "3GP"),
    "web.webm": (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + bytes(64), "WebM"),
    "film.mkv": (b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska" + bytes(64), "MKV"),
    "old.avi": (b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(64), "AVI"),
    "shot.CR2": (b"II*\x00\x10\x00\x00\x00CR\x02\x00" + bytes(64), "CR2 (camera raw)"),
    "shot.NEF": (b"MM\x00*\x00\x00\x00\x08" + bytes(64), "NEF (camera raw)"),
    "shot.arw": (b"II*\x00\x08\x00\x00\x00" + bytes(64), "ARW (camera raw)"),
    "shot.dng": (b"II*\x00\x08\x00\x00\x00" + bytes(64), "DNG (camera raw)"),
    "new.jxl": (b"\xff\x0a" + bytes(64), "JPEG XL"),
    "logo.svg": (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    "layers.psd": (b"8BPS\x00\x01" + bytes(64), "PSD"),
    # named by their content whatever their name
    "IMG_0003.jpg": (iso_media(b"heic"), "HEIC"),
    "video.bin": (iso_media(b"mp42"), "MP4"),
}


def test_media_that_is_not_supported_yet_is_named_and_counted_as_skipped(
    source: Path, out: Path
) -> None:
    pictures.jpeg(source / "IMG_0001.JPG")  # the JPEG a phone writes beside its HEIC
    for name, (data, _) in MEDIA.items():
        (source / name).write_bytes(data)
    result = gallery("build", source, "-o", out)
    assert result.returncode == 0, result.stderr
    for name, (_, kind) in MEDIA.items():
        assert f"skipped {name}: {kind} is not supported yet" in result.stderr
    assert f"1 pictures in 1 albums: 1 built, 0 reused, {len(MEDIA)} skipped" in result.stdout
    # the JPEG keeps the slug it had without its HEIC: its URL does not move
    assert [i["slug"] for i in read_manifest(out)["images"]] == ["img-0001"]
    strict = gallery("build", source, "-o", out, "--strict")
    assert strict.returncode == 1 and "--strict" in strict.stderr
    assert "skipped IMG_0001.HEIC: HEIC is not supported yet" in strict.stderr
