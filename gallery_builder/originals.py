"""Originals: with ``[images] originals = true`` each picture's own file is published, byte for
byte, at its path in the source folder: the key the original script uploaded it under, so a
bucket that script published keeps its objects (docs/publishing.md).

Which pictures' originals are published, and whether their paths are free, are pure
decisions; :func:`place_originals` then puts the files into the site through the build's
:class:`~gallery_builder.sitefiles.SiteWriter` (hard links when it can, see ``place``).
"""

from __future__ import annotations

import json
import posixpath
import re

from gallery_builder.config import ImageSettings
from gallery_builder.errors import GalleryError
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.model import REVALIDATE, Page, Picture
from gallery_builder.sitefiles import SiteWriter

#: build state meta key: the pictures whose originals were withheld and why (JSON), for the
#: warnings of builds with nothing to do
WITHHELD_META = "originals_withheld"

#: the extensions an original may be published under, by its content's format (Pillow's
#: name): a web server types a file by its extension, so a picture named ``.htm`` (a
#: JPEG/HTML polyglot, say) would be served as a page
PICTURE_EXTENSIONS = {
    "JPEG": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "MPO": (".jpg", ".jpeg", ".jpe", ".jfif"),
    "PNG": (".png",),
    "GIF": (".gif",),
    "BMP": (".bmp",),
    "TIFF": (".tif", ".tiff"),
    "WEBP": (".webp",),
    "AVIF": (".avif",),
}
#: the content type of an original, by its content's format (never by its name)
ORIGINAL_CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
}
#: what no site path (nor S3 key, nor URL) of an original may hold: a backslash (a folder
#: separator to some servers and clients) and control characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSAFE_NAME = re.compile(r"[\\\x00-\x1f\x7f-\x9f]")


def choose_originals(pictures: list[Picture], images: ImageSettings) -> dict[str, str]:
    """Set each picture's ``original`` to its source relpath when its original is published;
    return, for each one withheld, the warning that says why (in the pictures' order).

    An original is published only under a name that is a safe site path and whose extension
    says what its content is; and, as it is published as it is, metadata included, with
    ``strip_gps`` only when it is known to hold no GPS position (``Metadata.has_gps`` is
    False; a plugin that does not say counts as "may")."""
    withheld = {}
    for picture in pictures:
        picture.original = None
        if not images.originals:
            continue
        relpath = picture.source.relpath
        reason = withheld_reason(picture, images)
        if reason:
            withheld[relpath] = f"original of {shown(relpath)} not published: {reason}"
            continue
        picture.original = relpath
    return withheld


def shown(relpath: str) -> str:
    """``relpath`` as a message shows it: each control character escaped (``\\n``), so that
    a name cannot break or forge a line of the output."""
    return _CONTROL.sub(lambda m: repr(m[0])[1:-1], relpath)


def withheld_reason(picture: Picture, images: ImageSettings) -> str | None:
    """Why the original of ``picture`` may not be published, or None."""
    relpath, md = picture.source.relpath, picture.metadata
    if _UNSAFE_NAME.search(relpath):
        return (
            "its name holds a backslash or a control character, which no site path may; "
            "rename it to publish it"
        )
    extensions = PICTURE_EXTENSIONS.get(md.format.upper())
    extension = posixpath.splitext(relpath)[1]
    if not extensions:
        return f"its content ({md.format or 'unknown'}) is not a picture format it publishes"
    if extension.lower() not in extensions:
        return (
            f"it is a {md.format} picture, which its extension ({extension or 'none'}) does "
            f"not say, and a web server types a file by its extension; rename it to end in "
            f"{extensions[0]}"
        )
    if images.strip_gps and md.has_gps is not False:
        found = md.gps_note or "it may hold a GPS position"
        tail = " (the position included)" if found.startswith("it holds") else ""
        return (
            f"{found} and [images] strip_gps = true; set strip_gps = false to publish it as "
            f"is{tail}"
        )
    return None


def store_withheld(meta: dict[str, str], withheld: dict[str, str]) -> None:
    """Keep the warnings of the originals withheld in the build state's ``meta``."""
    if withheld:
        meta[WITHHELD_META] = json.dumps(withheld, ensure_ascii=False)
    else:
        meta.pop(WITHHELD_META, None)


def load_withheld(meta: dict[str, str]) -> dict[str, str]:
    """The warnings :func:`store_withheld` kept (an older build's list of names: a general
    one each)."""
    text = meta.get(WITHHELD_META, "")
    try:
        withheld = json.loads(text) if text.startswith("{") else None
    except ValueError:
        withheld = None
    if isinstance(withheld, dict) and all(isinstance(v, str) for v in withheld.values()):
        return withheld
    return {
        relpath: f"original of {relpath} not published: it may hold a GPS position and "
        "[images] strip_gps = true; set strip_gps = false to publish it as is"
        for relpath in text.split("\n")
        if relpath
    }


def path_conflicts(originals: dict[str, str], generated: dict[str, str]) -> list[str]:
    """What stops originals from going where they would, one message each.

    ``originals`` maps a site path to the picture whose original goes there; ``generated``
    maps every other site path to what it is ("the page", "an image of 'a.jpg'"). An original
    may not take a generated file's path (compared case-sensitively), nor a folder a generated
    file is in, nor lie inside a path that is a generated file.
    """
    folders: dict[str, str] = {}
    for path in sorted(generated):
        parts = path.split("/")
        for end in range(1, len(parts)):
            folders.setdefault("/".join(parts[:end]), path)
    problems = []
    for path, relpath in sorted(originals.items()):
        parts = path.split("/")
        above = ("/".join(parts[:end]) for end in range(1, len(parts)))
        if path in generated:
            clash, how = path, "the path of"
        elif path in folders:
            clash, how = folders[path], "a folder that holds"
        elif (clash := next((f for f in above if f in generated), None)) is not None:
            how = "inside the path of"
        else:
            continue
        problems.append(
            f"the original of {relpath} would be published as {path}, {how} "
            f"{generated[clash]} {clash}"
        )
    return problems


def check_original_paths(pictures: list[Picture], generated: dict[str, str]) -> None:
    """Raise :class:`GalleryError` naming each original whose path a generated file needs."""
    originals = {p.original: p.source.relpath for p in pictures if p.original}
    problems = path_conflicts(originals, generated)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise GalleryError(
            "; ".join(problems[:3])
            + more
            + "; rename or move the picture, or set [images] originals = false"
        )


def place_originals(pictures: list[Picture], pages: list[Page], writer: SiteWriter) -> None:
    """Put each published original into the site, once sure that no file the build makes
    (image, theme file, page, manifest) needs its path. Served ``no-cache``: unlike an
    image's, its name does not change with its content."""
    generated = {
        d.path: f"the image of {picture.source.relpath}"
        for picture in pictures
        for d in picture.derivatives.values()
    }
    generated.update({path: "the theme file" for path in writer.site.assets.values()})
    generated.update({page.path: "the page" for page in pages})
    generated[MANIFEST_NAME] = "the manifest"
    check_original_paths(pictures, generated)
    for picture in pictures:
        if picture.original:
            writer.place(
                picture.original,
                picture.source.path,
                picture.md5,
                picture.source.size,
                cache_control=REVALIDATE,
                content_type=ORIGINAL_CONTENT_TYPES[picture.metadata.format.upper()],
            )
