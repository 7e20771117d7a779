"""Text a picture carries (EXIF ImageDescription, Make, Model; a caption sidecar) reaches the
pages and the manifest capped and without control characters, however long or odd it is."""

from __future__ import annotations

import html
import re
import time
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest
from gallery_builder.plugins.metadata import MAX_CAPTION

from gallery_builder.testing import build_gallery

#: the most characters of a camera's name
MAX_CAMERA = 200
#: what must never reach a page: C0 controls but the newline, DEL, C1, bidi overrides
UNSHOWN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
#: controls and bidi overrides a hostile picture may carry, between ordinary words
HOSTILE = "Bosphorus\x1b[31m\x00\x07 at\u202edusk\x85\x9b\x7f\r\nsecond line\u2066"


def captions_on_page(page: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'data-caption="([^"]*)"', page)]


@pytest.mark.parametrize(
    ("name", "make"),
    [
        # a JPEG's EXIF is one APP1 segment, at most 64 KB: a description as long as it holds
        ("long.jpg", lambda p, text: pictures.jpeg(p, description=text[:60_000])),
        ("long.tif", lambda p, text: pictures.tiff(p, description=text)),  # 1 MB in a TIFF
    ],
)
def test_a_huge_exif_description_with_controls_is_capped_and_cleaned(
    source: Path, out: Path, name: str, make
) -> None:
    text = HOSTILE + " word" * 200_000  # over 1 MB
    make(source / name, text)
    started = time.process_time()
    build_gallery(source, out)
    assert time.process_time() - started < 20  # a guard against a hang, not a benchmark
    (image,) = read_manifest(out)["images"]
    caption = image["caption"]
    assert len(caption) <= MAX_CAPTION
    assert caption.startswith("Bosphorus[31m atdusk\nsecond line word word")
    assert not UNSHOWN.search(caption)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert captions_on_page(page) == [caption]
    assert not UNSHOWN.search(page.replace("\n", "").replace("\t", ""))


def test_camera_names_are_one_short_line_without_controls(source: Path, out: Path) -> None:
    pictures.tiff(source / "a.tif", make="Can\x1bon\u202e\r\n" + "x" * 100_000, model="R\x005")
    pictures.jpeg(source / "b.jpg", make="Nikon\x07", model="Nikon\u2066 Z\x9b6\n")
    build_gallery(source, out)
    cameras = {i["source"]: i["camera"] for i in read_manifest(out)["images"]}
    assert cameras["b.jpg"] == "Nikon Z6"
    assert len(cameras["a.tif"]) <= MAX_CAMERA and cameras["a.tif"].startswith("Canon xxx")
    assert not any(UNSHOWN.search(c) or "\n" in c for c in cameras.values())


def test_a_caption_sidecar_is_cleaned_too_keeping_its_lines(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    (source / "a.txt").write_text("First\x1b line\u202e\r\nSecond\x00 line\n", encoding="utf-8")
    build_gallery(source, out)
    assert read_manifest(out)["images"][0]["caption"] == "First line\nSecond line"


def test_cleaning_is_linear_in_the_cap_not_the_text() -> None:
    from gallery_builder.plugins.metadata import clean_text

    text = "\x00" * 50_000_000 + "late"
    started = time.process_time()
    assert clean_text(text, MAX_CAPTION) is None  # only the start is looked at
    assert time.process_time() - started < 1
