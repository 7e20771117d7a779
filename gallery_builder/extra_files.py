"""Files plugins add to the site as they are (``gallery_site_files``): checked, then written
through the :class:`~gallery_builder.sitefiles.SiteWriter` like every other file.

Checking is pure: an answer that is not an :class:`ExtraFile`, gives both or neither of
``data`` and ``file``, has a path that leaves the site or that another output already has,
or a header value no server could send, is an error naming the plugin, before anything of it
is written.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from gallery_builder.errors import GalleryError
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.model import ExtraFile
from gallery_builder.sitefiles import SiteWriter, safe_relpath

HOOK = "gallery_site_files"


def _fail(plugin: str, problem: str) -> GalleryError:
    return GalleryError(
        f"plugin '{plugin}' returned a bad file from {HOOK}: {problem}; "
        f"fix the plugin, or block it with --block {plugin}"
    )


def check_extra_files(
    answers: list[tuple[str, Any]], taken: Collection[str]
) -> list[tuple[str, ExtraFile]]:
    """The files of ``answers`` (``(plugin, list of ExtraFile)``), checked against each other
    and against ``taken``, the site paths the build already has (pages, images, assets)."""
    claimed: dict[str, str] = {}  # path -> plugin
    files: list[tuple[str, ExtraFile]] = []
    for plugin, answer in answers:
        if not isinstance(answer, list | tuple):
            raise _fail(plugin, f"a list of ExtraFile was expected, not {type(answer).__name__}")
        for item in answer:
            check_extra_file(plugin, item)
            path = item.path
            if path in claimed:
                other = claimed[path]
                raise _fail(
                    plugin,
                    f"{path!r} is also returned by "
                    + ("it twice" if other == plugin else f"plugin '{other}'"),
                )
            clash = _clash(path, taken) or _clash(path, claimed)
            if clash:
                raise _fail(plugin, f"{path!r} would replace {clash} of the site")
            claimed[path] = plugin
            files.append((plugin, item))
    return files


def _clash(path: str, taken: Collection[str]) -> str | None:
    """What of ``taken`` the file at ``path`` would replace: the same path, a file where one
    of its folders goes, or files below it."""
    if path in taken:
        return f"the file {path!r}"
    parts = path.split("/")
    for end in range(1, len(parts)):
        if "/".join(parts[:end]) in taken:
            return f"the file {'/'.join(parts[:end])!r}"
    below = path + "/"
    inside = next((other for other in taken if other.startswith(below)), None)
    return f"the folder holding {inside!r}" if inside else None


def check_extra_file(plugin: str, item: Any) -> None:
    # the preview server's own checks; imported here, as it brings in http.server (and ssl)
    from gallery_builder.serve import safe_cache_control, safe_content_type

    if not isinstance(item, ExtraFile):
        raise _fail(plugin, f"an ExtraFile was expected, not {type(item).__name__}")
    path = item.path
    if not isinstance(path, str) or not safe_relpath(path) or path == MANIFEST_NAME:
        raise _fail(
            plugin,
            f"the path {path!r} is not a file inside the site (a relative POSIX path, "
            f"without '..', not {MANIFEST_NAME} nor under .gallery/)",
        )
    if (item.data is None) == (item.file is None):
        raise _fail(plugin, f"{path!r} must have exactly one of data and file")
    if item.data is not None and not isinstance(item.data, bytes | bytearray | memoryview):
        raise _fail(
            plugin,
            f"the data of {path!r} is {type(item.data).__name__}, not bytes "
            "(encode text, e.g. text.encode('utf-8'))",
        )
    if item.file is not None and not Path(item.file).is_file():
        raise _fail(plugin, f"the file of {path!r}, {item.file}, is not a file")
    if item.content_type is not None and safe_content_type(item.content_type) != item.content_type:
        raise _fail(
            plugin, f"the content type {item.content_type!r} of {path!r} is not a type/subtype"
        )
    if safe_cache_control(item.cache_control) != item.cache_control:
        raise _fail(plugin, f"the cache control {item.cache_control!r} of {path!r} is malformed")


def write_extra_files(files: list[tuple[str, ExtraFile]], writer: SiteWriter) -> list[str]:
    """Write each file (only when its bytes changed); the paths, for the manifest."""
    for _, item in files:
        if item.file is not None:
            writer.copy(
                item.path,
                Path(item.file),
                cache_control=item.cache_control,
                content_type=item.content_type,
            )
        else:
            writer.write(
                item.path,
                bytes(item.data or b""),
                cache_control=item.cache_control,
                content_type=item.content_type,
            )
    return [item.path for _, item in files]
