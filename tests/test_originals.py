"""``[images] originals = true``: each picture's own file in the site, byte for byte, at its
path in the source folder (the key the original script used), withheld when it would publish
a GPS position that ``strip_gps`` keeps out of the images."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files
from gallery_builder.plugins.file_publisher import FilePublisher
from PIL import Image

from gallery_builder import hookimpl
from gallery_builder.config import ConfigError, init_text, load_config
from gallery_builder.errors import GalleryError
from gallery_builder.gps import file_has_gps_position
from gallery_builder.model import REVALIDATE, Metadata, Source
from gallery_builder.publishing import publish
from gallery_builder.testing import build_gallery, run_cli

#: the source pictures of the gallery below: case, spaces and an unusual extension kept
ORIGINALS = {
    "a.jpg": "image/jpeg",
    "Trip/b.jpg": "image/jpeg",
    "Trip/Day/Sun Set.PNG": "image/png",
    "Trip/Old Photo.jpeg": "image/jpeg",
}


def settings(source: Path, text: str) -> None:
    (source / "gallery.toml").write_text(text, encoding="utf-8")


@pytest.fixture
def gallery(source: Path) -> Path:
    """Four pictures in nested albums, with ``[images] originals = true``."""
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Trip" / "b.jpg", taken="2024:01:02 10:00:00", make="Canon")
    pictures.png(source / "Trip" / "Day" / "Sun Set.PNG")
    pictures.jpeg(source / "Trip" / "Old Photo.jpeg", (200, 300))
    settings(source, "[images]\noriginals = true\n")
    return source


def source_state(source: Path) -> dict[str, tuple[bytes, int]]:
    """Each source picture's bytes and mtime: what the build must never change."""
    return {
        relpath: ((source / relpath).read_bytes(), (source / relpath).stat().st_mtime_ns)
        for relpath in ORIGINALS
    }


class CountingPlugin:
    """Counts the calls that read a source file (hashing, identifying, metadata)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    @hookimpl(wrapper=True)
    def gallery_fingerprint(self, source, config):
        self.calls["fingerprint"] += 1
        return (yield)

    @hookimpl(wrapper=True)
    def gallery_identify(self, source, config):
        self.calls["identify"] += 1
        return (yield)


# --- The setting ------------------------------------------------------------------------------


def test_originals_is_off_by_default_and_a_boolean(source: Path) -> None:
    assert load_config(source).images.originals is False
    settings(source, "[images]\noriginals = true\n")
    assert load_config(source).images.originals is True
    settings(source, '[images]\nsizes = [640]\noriginals = "yes"\n')
    with pytest.raises(ConfigError) as error:
        load_config(source)
    assert str(error.value) == (
        f'{source / "gallery.toml"}:3: [images] originals = "yes" is not allowed; '
        "expected true or false"
    )


def test_gallery_init_lists_the_setting_with_its_default(source: Path) -> None:
    text = init_text(source)
    assert "\noriginals = false\n" in text
    (source / "gallery.toml").write_text(text, encoding="utf-8")
    assert load_config(source).images.originals is False


def test_without_the_setting_no_original_is_published(source: Path, out: Path) -> None:
    pictures.jpeg(source / "Trip" / "b.jpg")
    build_gallery(source, out)
    manifest = read_manifest(out)
    assert "Trip/b.jpg" not in manifest["files"] and not (out / "Trip").exists()
    assert all("original" not in image for image in manifest["images"])


# --- Building ---------------------------------------------------------------------------------


def test_originals_are_listed_in_the_manifest_with_the_source_md5_and_headers(
    gallery: Path, out: Path
) -> None:
    build_gallery(gallery, out)
    manifest = read_manifest(out)
    for relpath, content_type in ORIGINALS.items():
        data = (gallery / relpath).read_bytes()
        assert manifest["files"][relpath] == {
            "md5": hashlib.md5(data).hexdigest(),
            "size": len(data),
            "content_type": content_type,
            "cache_control": REVALIDATE,  # its name does not change with its content
        }, relpath
    images = {image["source"]: image for image in manifest["images"]}
    assert {source: image.get("original") for source, image in images.items()} == {
        relpath: relpath for relpath in ORIGINALS
    }
    # the source's MD5, which the build computed once, as the picture's and the file's
    assert all(image["md5"] == manifest["files"][s]["md5"] for s, image in images.items())


def test_originals_are_the_source_bytes_hard_linked_and_the_source_is_untouched(
    gallery: Path, out: Path
) -> None:
    before = source_state(gallery)
    build_gallery(gallery, out)
    files = site_files(out)
    for relpath in ORIGINALS:
        assert files[relpath] == before[relpath][0], relpath
        assert os.path.samefile(out / relpath, gallery / relpath), relpath  # same file system
    assert source_state(gallery) == before
    assert not [p for p in out.rglob("*.tmp")]  # no temporary file left behind


@pytest.fixture
def other_file_system() -> Iterator[Path]:
    """A folder on another file system than the tests' temporary folder (a tmpfs)."""
    if not os.path.isdir("/dev/shm"):
        pytest.fail("no /dev/shm here to give a second file system (a tmpfs is needed)")
    folder = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="gallery-originals-"))
    try:
        if folder.stat().st_dev == Path(tempfile.gettempdir()).stat().st_dev:
            pytest.fail("/dev/shm is on the same file system as the temporary folder")
        yield folder
    finally:
        shutil.rmtree(folder)


def test_originals_are_copied_onto_another_file_system(
    gallery: Path, other_file_system: Path
) -> None:
    out = other_file_system / "site"
    build_gallery(gallery, out)
    for relpath in ORIGINALS:
        assert (out / relpath).read_bytes() == (gallery / relpath).read_bytes()
        assert not os.path.samefile(out / relpath, gallery / relpath)
    # and an incremental build does not copy them again
    assert build_gallery(gallery, out).written == []


def test_turning_originals_off_removes_them_from_the_site(gallery: Path, out: Path) -> None:
    build_gallery(gallery, out)
    before = source_state(gallery)
    settings(gallery, "[images]\noriginals = false\n")
    result = build_gallery(gallery, out)
    assert set(ORIGINALS) <= set(result.removed)
    assert not set(ORIGINALS) & set(site_files(out))
    assert not set(ORIGINALS) & set(read_manifest(out)["files"])
    assert source_state(gallery) == before  # unlinking the site's link leaves the source


def test_a_noop_build_neither_hashes_nor_touches_the_originals(gallery: Path, out: Path) -> None:
    counting = CountingPlugin()  # in both builds: a new plugin would change what shapes it
    build_gallery(gallery, out, counting)
    inodes = {r: (out / r).stat() for r in ORIGINALS}
    counting.calls.clear()
    result = build_gallery(gallery, out, counting)
    assert result.written == [] and result.removed == []
    assert counting.calls == Counter()  # no source was identified or hashed again
    for relpath, stat in inodes.items():
        now = (out / relpath).stat()
        assert (now.st_ino, now.st_mtime_ns, now.st_ctime_ns) == (
            stat.st_ino,
            stat.st_mtime_ns,
            stat.st_ctime_ns,
        )


def test_an_incremental_build_puts_back_only_the_changed_original(gallery: Path, out: Path) -> None:
    build_gallery(gallery, out)
    (gallery / "Trip" / "b.jpg.txt").write_text("a caption")  # rewrites pages, not originals
    assert not set(ORIGINALS) & set(build_gallery(gallery, out).written)
    pictures.jpeg(gallery / "Trip" / "b.jpg", (300, 200), taken="2024:01:02 10:00:00")
    result = build_gallery(gallery, out)
    assert set(ORIGINALS) & set(result.written) == {"Trip/b.jpg"}
    data = (gallery / "Trip" / "b.jpg").read_bytes()
    assert (out / "Trip" / "b.jpg").read_bytes() == data
    assert read_manifest(out)["files"]["Trip/b.jpg"]["md5"] == hashlib.md5(data).hexdigest()


def test_a_deleted_original_is_put_back(gallery: Path, out: Path) -> None:
    build_gallery(gallery, out)
    (out / "Trip" / "b.jpg").unlink()
    assert build_gallery(gallery, out).written == ["Trip/b.jpg"]
    assert (out / "Trip" / "b.jpg").read_bytes() == (gallery / "Trip" / "b.jpg").read_bytes()


def test_force_puts_every_original_again_without_harm(gallery: Path, out: Path) -> None:
    build_gallery(gallery, out)
    before = source_state(gallery)
    result = build_gallery(gallery, out, force=True)
    assert set(ORIGINALS) <= set(result.written)
    assert source_state(gallery) == before
    assert all(os.path.samefile(out / r, gallery / r) for r in ORIGINALS)
    assert not [p for p in out.rglob("*.tmp")]  # renaming a link onto itself left nothing


# --- Privacy: GPS -----------------------------------------------------------------------------


@pytest.fixture
def located(source: Path) -> Path:
    """Pictures that hold a GPS position in EXIF (JPEG, PNG) or in XMP, in a PNG also after
    its pixels; and one that holds none."""
    pictures.jpeg(source / "exif.jpg", gps=True)
    pictures.png(source / "Trip" / "exif.png", gps=True)
    pictures.xmp_gps_jpeg(source / "Trip" / "xmp.jpg")
    pictures.late_gps_png(source / "Late" / "exif.png")
    pictures.late_gps_png(source / "Late" / "xmp.png", xmp=True)
    pictures.jpeg(source / "plain.jpg", make="Canon")
    return source


LOCATED = ("Late/exif.png", "Late/xmp.png", "Trip/exif.png", "Trip/xmp.jpg", "exif.jpg")


def test_a_picture_with_a_gps_position_is_not_published_as_an_original_under_strip_gps(
    located: Path, out: Path
) -> None:
    settings(located, "[images]\noriginals = true\n")
    result = run_cli(["build", located, "-o", out, "-j", "1"])
    assert result.exit_code == 0, result.output
    for relpath in LOCATED:
        # the warning says where the position is
        where = "XMP" if "xmp" in relpath else "GPS data of"
        assert re.search(
            rf"original of {re.escape(relpath)} not published: it holds a GPS position \(in "
            rf"[^\n]*{where}[^\n]*\) and \[images\] strip_gps = true; set strip_gps = false "
            r"to publish it as is \(the position included\)\n",
            result.stderr,
            re.I,
        ), result.stderr
        assert not (out / relpath).exists()
    files = read_manifest(out)["files"]
    assert "plain.jpg" in files and not set(LOCATED) & set(files)
    images = {image["source"]: image for image in read_manifest(out)["images"]}
    assert images["plain.jpg"]["original"] == "plain.jpg"
    assert all("original" not in images[r] for r in LOCATED)  # its images are published
    # the warning stays until it is dealt with, on a build with nothing to do too
    again = run_cli(["build", located, "-o", out, "-j", "1"])
    assert again.stderr.count("not published: it holds a GPS position") == len(LOCATED)
    assert "0 files written" in again.output


def test_with_strip_gps_false_every_original_is_published_as_it_is(
    located: Path, out: Path
) -> None:
    settings(located, "[images]\noriginals = true\nstrip_gps = false\n")
    result = run_cli(["build", located, "-o", out, "-j", "1"])
    assert result.exit_code == 0 and "GPS" not in result.stderr
    for relpath in (*LOCATED, "plain.jpg"):
        assert (out / relpath).read_bytes() == (located / relpath).read_bytes()


def test_a_metadata_plugin_that_does_not_say_is_checked_by_the_core(
    located: Path, out: Path
) -> None:
    class Terse:
        @hookimpl
        def gallery_read_metadata(self, source, config):
            return Metadata(width=320, height=240)  # has_gps: not known

    settings(located, "[images]\noriginals = true\n")
    result = build_gallery(located, out, Terse())
    assert sorted(result.originals_withheld) == sorted(LOCATED)
    assert read_manifest(out)["files"].keys() & {"plain.jpg", *LOCATED} == {"plain.jpg"}


@pytest.mark.parametrize(
    ("gps_tags", "withheld"),
    [
        ({0: b"\x02\x02\x00\x00"}, False),  # a GPS version alone, as with location off
        ({0: b"\x02\x02\x00\x00", 6: 35.0}, True),  # an altitude: strip_gps removes it too
        ({0: b"\x02\x02\x00\x00", 20: 41.0}, True),  # a destination's latitude
    ],
)
def test_what_counts_as_a_gps_position(tmp_path: Path, gps_tags: dict, withheld: bool) -> None:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update(gps_tags)
    path = tmp_path / "gps.jpg"
    Image.new("RGB", (32, 24)).save(path, exif=exif.tobytes())
    assert file_has_gps_position(str(path)) is withheld
    assert file_has_gps_position(str(pictures.damaged_exif_jpeg(tmp_path / "bad.jpg"))) is True


#: XMP placing a picture in Istanbul, as exif:GPSLatitude and exif:GPSLongitude attributes
GPS = pictures.GPS_XMP
#: the data of a JPEG APP1 segment holding XMP: its namespace, a NUL, the packet
XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"


def xmp(attributes: str = "", elements: str = "") -> bytes:
    """An XMP packet: one rdf:Description with these ``attributes`` and child ``elements``."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/" {attributes}>{elements}'
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


#: XMP with no position: a caption that speaks of GPS, and the GPS version alone
UNPLACED_XMP = xmp(
    'exif:GPSVersionID="2.2.0.0"',
    '<dc:description><rdf:Alt><rdf:li xml:lang="x-default">GPS latitude and longitude off'
    "</rdf:li></rdf:Alt></dc:description>",
)


def unplaced_exif() -> bytes:
    """EXIF with a Make and a GPS IFD holding the GPS version alone: no position."""
    exif = Image.Exif()
    exif[0x010F] = "DJI"
    exif.get_ifd(0x8825)[0] = b"\x02\x02\x00\x00"
    return exif.tobytes()


#: a picture (its name and how it is made) and whether its original is withheld: the three
#: leaks a review found (a position in a PNG's hex-encoded ImageMagick raw profile, XMP before
#: the pixels or EXIF after them; DJI's spelling of XMP's names), their kin, and each
#: container without a position, whose original is published
OTHER_METADATA = {
    "raw-xmp-before-pixels": ("a.png", lambda p: pictures.raw_profile_png(p, "xmp", GPS), True),
    "raw-exif-after-pixels": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "exif", pictures.gps_exif(), after_pixels=True),
        True,
    ),
    "dji-xmp": ("a.jpg", pictures.dji_xmp_jpeg, True),
    "raw-xmp-after-pixels": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "xmp", GPS, after_pixels=True, chunk=b"tEXt"),
        True,
    ),
    "raw-exif-before-pixels": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "exif", pictures.gps_exif(), chunk=b"iTXt"),
        True,
    ),
    "raw-app1-exif-after-pixels": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "APP1", pictures.gps_exif(), after_pixels=True),
        True,
    ),
    "raw-app1-xmp-before-pixels": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "APP1", XMP_APP1 + GPS),
        True,
    ),
    "dji-xmp-longtitude": (
        "a.jpg",
        lambda p: pictures.dji_xmp_jpeg(p, longitude="GpsLongtitude"),
        True,
    ),
    "raw-xmp-before-pixels-unplaced": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "xmp", UNPLACED_XMP),
        False,
    ),
    "raw-exif-after-pixels-unplaced": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "exif", unplaced_exif(), after_pixels=True),
        False,
    ),
    "raw-app1-xmp-after-pixels-unplaced": (
        "a.png",
        lambda p: pictures.raw_profile_png(p, "APP1", XMP_APP1 + UNPLACED_XMP, after_pixels=True),
        False,
    ),
    "raw-iptc-before-pixels": (  # another profile, in hex too: nothing of a position
        "a.png",
        lambda p: pictures.raw_profile_png(p, "iptc", b"\x1c\x02\x00\x00\x02\x00\x04"),
        False,
    ),
    "dji-xmp-unplaced": ("a.jpg", lambda p: pictures.dji_xmp_jpeg(p, position=False), False),
}


@pytest.mark.parametrize(
    ("name", "make", "withheld"), OTHER_METADATA.values(), ids=OTHER_METADATA.keys()
)
def test_a_position_in_a_raw_profile_or_a_drones_xmp_withholds_the_original(
    source: Path, out: Path, name: str, make, withheld: bool
) -> None:
    path = make(source / name)
    assert file_has_gps_position(str(path)) is withheld
    settings(source, "[images]\noriginals = true\n")
    result = build_gallery(source, out)
    assert result.originals_withheld == ([name] if withheld else [])
    if withheld:
        assert not (out / name).exists() and name not in read_manifest(out)["files"]
    else:
        assert (out / name).read_bytes() == path.read_bytes()
    images = read_manifest(out)["images"]
    assert len(images) == 1 and images[0].get("original") == (None if withheld else name)


#: XMP packets and whether they place the picture
XMP_PACKETS = {
    "exif-attributes": (GPS, True),  # exif:GPSLatitude and exif:GPSLongitude
    "exif-element": (xmp(elements="<exif:GPSLongitude>28,58.704E</exif:GPSLongitude>"), True),
    "lower-case": (xmp('exif:gpslatitude="41,0.492N"'), True),  # the case does not matter
    "dji-longtitude": (xmp('drone-dji:GpsLongtitude="+28.97840000"'), True),  # DJI's spelling
    "dji-element": (xmp(elements="<drone-dji:GpsLatitude>+41.0082</drone-dji:GpsLatitude>"), True),
    "destination": (xmp('exif:GPSDestLatitude="41,0.492N"'), True),
    "altitude": (xmp('exif:GPSAltitude="35/1"'), True),  # any GPS property but the version
    "version-attribute": (xmp('exif:GPSVersionID="2.2.0.0"'), False),
    "version-element": (xmp(elements="<exif:GPSVersionID>2.2.0.0</exif:GPSVersionID>"), False),
    "caption": (UNPLACED_XMP, False),  # GPS, latitude and longitude as words of a caption
    "namespace": (xmp('xmlns:gps="http://example.com/gps/"'), False),  # named gps, unused
    "dji-unplaced": (pictures.dji_xmp(position=False), False),
}


@pytest.mark.parametrize(("packet", "withheld"), XMP_PACKETS.values(), ids=XMP_PACKETS.keys())
def test_what_counts_as_a_gps_position_in_xmp(
    tmp_path: Path, packet: bytes, withheld: bool
) -> None:
    path = pictures.jpeg(tmp_path / "xmp.jpg", xmp=packet)
    assert file_has_gps_position(str(path)) is withheld
    png = pictures.raw_profile_png(tmp_path / "xmp.png", "xmp", packet, after_pixels=True)
    assert file_has_gps_position(str(png)) is withheld


# --- Paths the build needs --------------------------------------------------------------------


def test_an_original_on_an_images_path_is_an_error_naming_both(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    build_gallery(source, out)
    files = read_manifest(out)["files"]
    image = next(p for p in files if p.startswith("a.640.") and p.endswith(".jpg"))
    pictures.jpeg(source / image, (100, 80))  # a picture that happens to bear that name
    settings(source, "[images]\noriginals = true\n")
    with pytest.raises(GalleryError) as error:
        build_gallery(source, out)
    assert str(error.value) == (
        f"the original of {image} would be published as {image}, the path of the image of "
        f"a.jpg {image}; rename or move the picture, or set [images] originals = false"
    )
    assert (out / image).read_bytes() != (source / image).read_bytes()  # nothing overwritten


def test_an_original_inside_a_pages_path_is_an_error_naming_both(source: Path, out: Path):
    pictures.jpeg(source / "index.html" / "a.jpg")  # a folder so named
    settings(source, "[images]\noriginals = true\n")
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 1
    assert (
        "Error: the original of index.html/a.jpg would be published as index.html/a.jpg, "
        "inside the path of the page index.html;" in result.output
    )


@pytest.mark.parametrize("relpath", ["../escaped.jpg", ".gallery/state.jpg"])
def test_an_original_from_a_plugins_scan_never_lands_outside_the_site(
    source: Path, out: Path, tmp_path: Path, relpath: str
) -> None:
    far = pictures.jpeg(tmp_path / "elsewhere" / "far.jpg")
    info = far.stat()

    class OddSource:
        @hookimpl
        def gallery_scan(self, config, exclude):
            return [Source(str(far), relpath, info.st_size, info.st_mtime_ns)]

    pictures.jpeg(source / "a.jpg")
    settings(source, "[images]\noriginals = true\n")
    with pytest.raises(GalleryError, match="original would be published outside the site"):
        build_gallery(source, out, OddSource())
    assert not (out / relpath).exists() and not (out.parent / "escaped.jpg").exists()


# --- Publishing -------------------------------------------------------------------------------


class Recording(FilePublisher):
    """The real file publisher, noting each upload and the thread that sent it."""

    def __init__(self, root: Path):
        super().__init__(root)
        self.uploads: list[tuple[str, bool]] = []  #: (key, sent from the main thread)
        self.deleted: list[str] = []

    def upload(self, key, file, entry, **kw):
        self.uploads.append((key, threading.current_thread() is threading.main_thread()))
        super().upload(key, file, entry, **kw)

    def delete(self, keys):
        self.deleted += keys
        super().delete(keys)


def test_a_site_with_originals_publishes_to_a_folder(
    gallery: Path, out: Path, tmp_path: Path
) -> None:
    build_gallery(gallery, out)
    target = tmp_path / "www"
    publisher = Recording(target)
    publish(out, publisher, "photos")
    live = {
        p: d for p, d in site_files(target / "photos").items() if not p.endswith(".lock")
    }  # the publisher's lock file aside
    assert live == site_files(out)
    for relpath in ORIGINALS:  # a copy: the published folder never links to the source
        assert not os.path.samefile(target / "photos" / relpath, gallery / relpath)
    # originals go with the images, at once, before any page; then the pages
    sent = [  # the gallery's (the bucket root's error.html and its files aside)
        (key.removeprefix("photos/"), main) for key, main in publisher.uploads
        if key.startswith("photos/")
    ]  # fmt: skip
    first_page = next(i for i, (key, _) in enumerate(sent) if key.endswith(".html"))
    assert set(ORIGINALS) <= {key for key, _ in sent[:first_page]}
    assert not any(main for key, main in sent[:first_page])  # sent by the pool
    assert all(key.endswith(".html") for key, _ in sent[first_page:])
    # turned off: the next publish deletes them, after the commit
    settings(gallery, "[images]\noriginals = false\n")
    build_gallery(gallery, out)
    again = Recording(target)
    publish(out, again, "photos")
    assert {key.removeprefix("photos/") for key in again.deleted} == set(ORIGINALS)
    assert not (target / "photos" / "Trip" / "b.jpg").exists()


# --- Extensions -------------------------------------------------------------------------------


def polyglot(path: Path) -> Path:
    """A real JPEG that is also a page: a comment segment holding a script, as a JPEG/HTML
    polyglot does, so that a server typing files by name serves it as HTML."""
    jpeg = pictures.jpeg(path.with_suffix(".tmp.jpg")).read_bytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    page = b"<html><script>alert(document.cookie)</script>"
    path.write_bytes(jpeg[:2] + pictures.jpeg_segment(0xFE, page) + jpeg[2:])
    path.with_suffix(".tmp.jpg").unlink()
    return path


#: a picture named so, made so, and whether its original is published
NAMES = {
    "polyglot-htm": ("x.htm", polyglot, False),
    "polyglot-xhtml": ("Trip/x.xhtml", polyglot, False),
    "jpeg-named-svg": ("y.svg", pictures.jpeg, False),
    "jpeg-without-extension": ("z", pictures.jpeg, False),
    "png-named-jpg": ("p.jpg", pictures.png, False),
    "jpeg-named-png": ("j.png", pictures.jpeg, False),
    "upper-case-jpg": ("A.JPG", pictures.jpeg, True),
    "jfif": ("b.jfif", pictures.jpeg, True),
    "jpe": ("c.jpe", pictures.jpeg, True),
    "gif": ("d.gif", pictures.animated_gif, True),
    "tiff": ("e.tiff", pictures.tiff, True),
    "webp": ("f.webp", pictures.webp, True),
    "bmp": ("g.bmp", pictures.bmp, True),
}


@pytest.mark.parametrize(("name", "make", "published"), NAMES.values(), ids=NAMES.keys())
def test_an_original_is_published_only_under_an_extension_that_says_its_content(
    source: Path, out: Path, name: str, make, published: bool
) -> None:
    make(source / name)
    settings(source, "[images]\noriginals = true\n")
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 0, result.output
    manifest = read_manifest(out)
    (image,) = manifest["images"]  # its web images are published either way
    if published:
        assert image["original"] == name and (out / name).is_file()
        with Image.open(source / name) as im:
            assert manifest["files"][name]["content_type"] == Image.MIME[im.format]
        assert "not published" not in result.stderr
    else:
        assert "original" not in image and name not in manifest["files"]
        assert not (out / name).exists()
        assert f"original of {name} not published: it is a " in result.stderr
        assert "which its extension" in result.stderr and "rename it to end in ." in result.stderr


# --- Stale originals and odd names ------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a/b.jpg", "a/b.jpg/c.jpg"),  # a file where a folder now goes
        ("a/b.jpg/c.jpg", "a/b.jpg"),  # a folder where a file now goes
        ("x.jpg/y.jpg/z.jpg", "x.jpg"),  # deeper
        ("x.jpg", "x.jpg/y.jpg/z.jpg"),
    ],
)
def test_a_stale_original_never_blocks_what_takes_its_place(
    source: Path, out: Path, before: str, after: str
) -> None:
    pictures.jpeg(source / "keep.jpg")
    pictures.jpeg(source / before)
    settings(source, "[images]\noriginals = true\n")
    build_gallery(source, out)
    assert (out / before).is_file()
    shutil.rmtree(source / before.split("/")[0]) if "/" in before else (source / before).unlink()
    pictures.jpeg(source / after, (200, 100))
    result = build_gallery(source, out)
    assert (out / after).read_bytes() == (source / after).read_bytes()
    assert before in result.removed or not (out / before).is_file()
    files = read_manifest(out)["files"]
    assert after in files and before not in files
    # the site is what a clean build makes
    clean = out.parent / "clean"
    build_gallery(source, clean)
    assert site_files(out) == site_files(clean)


@pytest.mark.parametrize("name", ["a\\b.jpg", "tab\there.jpg", "line\nbreak.jpg", "bell\x07.jpg"])
def test_a_name_no_site_path_may_hold_withholds_the_original_not_the_build(
    source: Path, out: Path, name: str
) -> None:
    pictures.jpeg(source / name)
    pictures.jpeg(source / "plain.jpg")
    settings(source, "[images]\noriginals = true\n")
    result = run_cli(["build", source, "-o", out, "-j", "1"])
    assert result.exit_code == 0, result.output
    shown = name.replace("\t", "\\t").replace("\n", "\\n").replace("\x07", "\\x07")
    assert (  # the name shown with its control characters escaped: it cannot forge a line
        f"original of {shown} not published: its name holds a backslash or a control "
        "character, which no site path may; rename it to publish it" in result.stderr
    )
    manifest = read_manifest(out)
    images = {image["source"]: image for image in manifest["images"]}
    assert "original" not in images[name] and images[name]["derivatives"]  # its images are there
    assert images["plain.jpg"]["original"] == "plain.jpg"
    assert name not in manifest["files"] and not (out / name).exists()
    again = run_cli(["build", source, "-o", out, "-j", "1"])  # a build with nothing to do
    assert again.exit_code == 0 and "not published: its name holds" in again.stderr
