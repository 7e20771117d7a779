"""Originals: with ``[images] originals = true`` each picture's own file is published, byte for
byte, at its path in the source folder: the key the original script uploaded it under, so a
bucket that script published keeps its objects (docs/publishing.md).

Which pictures' originals are published, and whether their paths are free, are pure
decisions; :func:`place_originals` then puts the files into the site through the build's
:class:`~gallery_builder.sitefiles.SiteWriter` (hard links when it can, see ``place``).
"""

from __future__ import annotations

from gallery_builder.config import ImageSettings
from gallery_builder.errors import GalleryError
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.model import REVALIDATE, Page, Picture
from gallery_builder.sitefiles import SiteWriter

#: build state meta key: the pictures whose originals were withheld, for no-op builds' warnings
WITHHELD_META = "originals_withheld"


def choose_originals(pictures: list[Picture], images: ImageSettings) -> list[str]:
    """Set each picture's ``original`` to its source relpath when its original is published;
    return the relpaths of those withheld because they hold a GPS position.

    Originals are published as they are, EXIF included: with ``strip_gps`` a picture that
    holds a GPS position (or, from a plugin that does not say, might) is not published so.
    """
    withheld = []
    for picture in pictures:
        picture.original = None
        if not images.originals:
            continue
        if images.strip_gps and picture.metadata.has_gps is not False:
            withheld.append(picture.source.relpath)
            continue
        picture.original = picture.source.relpath
    return withheld


def withheld_warning(relpath: str) -> str:
    """The warning for a picture whose original is withheld for its GPS position."""
    return (
        f"original of {relpath} not published: it holds a GPS position and [images] "
        "strip_gps = true; set strip_gps = false to publish it as is (the position included)"
    )


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
            )
