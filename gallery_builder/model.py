"""The plain data that flows through the build: picklable, comparable, free of I/O.

Hooks receive and return these; worker processes receive and return them too, which is why
they hold strings and numbers only (paths are POSIX strings relative to the source or output
root unless a field says otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Cache-Control for files whose name changes whenever their content does.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Cache-Control for files that keep their name (pages, manifest): browsers must revalidate.
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Source:
    """A file found by a scan: a candidate picture, not yet identified."""

    path: str  #: absolute path on disk
    relpath: str  #: POSIX path relative to the source root, e.g. "Istanbul 2024/Galata.jpg"
    size: int
    mtime_ns: int
    #: absolute path of a caption sidecar (``<stem>.txt`` or ``<name>.txt``), if one exists
    sidecar: str | None = None
    sidecar_mtime_ns: int = 0

    @property
    def album_relpath(self) -> str:
        """The folder holding the picture, relative to the source root ('' for the root)."""
        head, _, _ = self.relpath.rpartition("/")
        return head

    @property
    def filename(self) -> str:
        return self.relpath.rpartition("/")[2]


@dataclass(frozen=True)
class Metadata:
    """What a visitor sees about a picture. ``width``/``height`` are as displayed, after EXIF
    orientation."""

    width: int
    height: int
    format: str = ""  #: Pillow's format name, e.g. "JPEG"
    taken: str | None = None  #: ISO 8601 local time, e.g. "2024-05-17T10:42:00"
    camera: str | None = None
    caption: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  #: fields added by plugins
    #: whether the file may hold a GPS position (it holds one, or is not known clean); None:
    #: not known, the core looks
    has_gps: bool | None = None
    #: why ``has_gps`` is true, for the user: where the position is, or what could not be
    #: checked ("it holds a GPS position (in the XMP of the JPEG)")
    gps_note: str | None = None


@dataclass(frozen=True)
class DerivativeSpec:
    """One output image to make from a source.

    ``kind`` is "resize" (fit within ``box`` keeping the aspect ratio, never upscaling) or
    "thumbnail" (crop to exactly ``box``, or smaller when the source is smaller).
    """

    variant: str  #: "thumb", or the configured long-edge size as text: "1280"
    kind: str
    box: tuple[int, int]
    format: str  #: "webp", "jpeg", "avif" or "png"
    quality: int
    keep_exif: bool = True
    strip_gps: bool = True
    #: encoder options as (name, value) pairs, stored sorted by name; neutral (Pillow's)
    #: names: jpeg ``optimize``, ``progressive``; webp ``method`` (0-6); avif ``speed``
    #: (0-10); png ``compress_level`` (0-9). Empty: the processor's "balanced" defaults.
    #: Part of the cache key.
    options: Mapping[str, Any] | tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        options = self.options
        pairs = options.items() if isinstance(options, Mapping) else options
        object.__setattr__(self, "options", tuple(sorted(pairs, key=lambda kv: kv[0])))

    @property
    def key(self) -> str:
        """Stable key of this derivative within a picture, e.g. "1280.webp"."""
        return f"{self.variant}.{self.format}"


@dataclass(frozen=True)
class ProcessorInfo:
    """What an :class:`ImageProcessor` can do on this machine, as its probe found."""

    #: part of every derivative's cache key: change it when the bytes may change
    version: str
    #: the output formats it can encode here ("jpeg", "webp", "avif", "png")
    formats: frozenset[str]


@dataclass(frozen=True)
class ImageProcessor:
    """A way of making a picture's derivatives (Pillow, libvips, …), offered by the
    ``gallery_image_processors`` hook and chosen with ``[images] processor`` /
    ``--processor``."""

    #: "pillow", "vips": what the setting and the option choose
    name: str
    #: "package.module:function", run on the executor as ``function(job: ImageJob) ->
    #: ImageResult``
    worker: str
    #: called in the main process, only for the chosen processor; raises
    #: gallery_builder.errors.ProcessorUnavailable("why; how to install") when it cannot
    #: run here
    probe: Callable[[], ProcessorInfo]
    description: str = ""


#: what ImageStep.function must look like: "package.module:qualified.name"
_FUNCTION_NAME = re.compile(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*")


@dataclass(frozen=True)
class ImageStep:
    """A change a plugin makes to every derivative of a picture (a watermark, a copyright
    line), returned by the ``gallery_image_steps`` hook.

    The worker imports ``function`` by name and calls it as ``function(image, spec,
    **params)`` on each derivative's image after decode, orientation and resize, before
    encode; it returns the image to encode. ``function``, ``params``, ``version`` and the
    plugin's version are part of each derivative's cache key, so a change to any of them
    remakes exactly the images it shapes. ``params`` must be picklable (it travels to the
    workers) and is stored as a tuple of (name, value) pairs sorted by name.
    """

    function: str  #: "package.module:function", importable in the worker
    params: Mapping[str, Any] | tuple = ()  #: keyword arguments of the function
    version: str = ""  #: change it to remake the images when the function's output changes
    plugin: str = ""  #: the plugin that returned it; set by the core

    def __post_init__(self) -> None:
        if not isinstance(self.function, str) or not _FUNCTION_NAME.fullmatch(self.function):
            raise ValueError(
                f"ImageStep.function must name a function as 'package.module:function', "
                f"not {self.function!r}"
            )
        params = self.params
        try:
            pairs = [(k, v) for k, v in (params.items() if isinstance(params, Mapping) else params)]
        except (TypeError, ValueError):
            pairs = None
        if pairs is None or not all(isinstance(k, str) for k, _ in pairs):
            raise ValueError(
                f"ImageStep.params must map parameter names (text) to values, not {params!r}"
            )
        names = [k for k, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"ImageStep.params names a parameter twice: {params!r}")
        object.__setattr__(self, "params", tuple(sorted(pairs, key=lambda kv: kv[0])))

    @property
    def kwargs(self) -> dict[str, Any]:
        """The params as keyword arguments of the function."""
        return dict(self.params)


@dataclass(frozen=True)
class Derivative:
    """A derivative that exists in the output folder."""

    key: str  #: "1280.webp"
    path: str  #: relative to the output root
    width: int
    height: int
    md5: str
    size: int


@dataclass(frozen=True)
class ImageJob:
    """Work for one worker call: every missing derivative of one source, from one decode."""

    source_path: str
    output_root: str
    #: (spec, output relpath) pairs
    targets: tuple[tuple[DerivativeSpec, str], ...]
    #: the JPEG DCT scale to decode at (1, 2, 4, 8), chosen from ALL the picture's specs, so
    #: a derivative's bytes do not depend on which others happen to be missing
    draft_scale: int = 1
    #: applied in order to each derivative's image after resize, before encode
    steps: tuple[ImageStep, ...] = ()
    #: the worker function's name ("package.module:function"), which
    #: gallery_builder.processors.run_job imports and calls
    processor: str = "gallery_builder.imaging:process_image"
    #: threads the processor may use inside one worker (CPUs // workers, at least 1)
    threads: int = 1
    #: every derivative spec of the picture, the targets' and the others': the resize plan
    #: (gallery_builder.resize_plan) is made from all of them, so that an image's bytes do not
    #: depend on which of its siblings are missing; empty: the targets' specs
    specs: tuple[DerivativeSpec, ...] = ()


@dataclass(frozen=True)
class StepFailure:
    """An :class:`ImageStep` that failed in a worker, as data the main process can raise."""

    plugin: str
    function: str
    cause: BaseException  #: what the step raised (or a RuntimeError saying what, if unpicklable)
    traceback: str = ""  #: the worker's traceback, as text


@dataclass(frozen=True)
class ImageResult:
    """What a worker made of an :class:`ImageJob`; ``error`` is set when the picture is bad."""

    source_path: str
    derivatives: tuple[Derivative, ...] = ()
    error: str | None = None  #: the picture cannot be used (deterministic for its content)
    write_error: str | None = None  #: the output could not be written (not the picture's fault)
    step_error: StepFailure | None = None  #: a plugin's step failed (not the picture's fault)


@dataclass
class Picture:
    """A picture that is part of the site."""

    source: Source
    md5: str
    metadata: Metadata
    slug: str
    album_path: str  #: the album's slug path ('' for the root album)
    derivatives: dict[str, Derivative] = field(default_factory=dict)
    #: the site path of the published original (its source relpath), or None when the
    #: original is not published (``[images] originals = false``, or withheld for its GPS)
    original: str | None = None

    @property
    def sort_key(self) -> tuple[bool, str, str]:
        """Sorted by date taken (undated last), then file name."""
        return (self.metadata.taken is None, self.metadata.taken or "", self.source.filename)


@dataclass
class Album:
    """A folder of the source tree that holds pictures, directly or in sub-albums."""

    path: str  #: slug path relative to the output root, '' for the root album
    title: str
    source_relpath: str  #: the folder, relative to the source root
    pictures: list[Picture] = field(default_factory=list)
    children: list[Album] = field(default_factory=list)
    cover: Picture | None = None
    #: plain text (``index.md`` or ``album.txt`` in its folder; see gallery_builder.albumtext)
    description: str | None = None
    #: the description as safe HTML, when it was written in Markdown (``index.md``)
    description_html: str | None = None

    @property
    def depth(self) -> int:
        return 0 if not self.path else self.path.count("/") + 1

    def walk(self) -> list[Album]:
        """This album and every album below it, parents before children (without recursion:
        a tree may be deep)."""
        found = []
        stack = [self]
        while stack:
            album = stack.pop()
            found.append(album)
            stack.extend(reversed(album.children))
        return found

    def picture_count(self) -> int:
        return sum(len(album.pictures) for album in self.walk())

    @property
    def earliest(self) -> str | None:
        dates = [p.metadata.taken for a in self.walk() for p in a.pictures if p.metadata.taken]
        return min(dates) if dates else None


@dataclass(frozen=True)
class Page:
    """A page to render: ``template`` from the theme into ``path`` (relative to the output)."""

    path: str
    template: str
    album: Album | None = None
    context: dict[str, Any] = field(default_factory=dict, compare=False)
    #: what the page is served as, e.g. "application/atom+xml"; None: what its extension says
    content_type: str | None = None


@dataclass(frozen=True)
class ExtraFile:
    """A file a plugin adds to the site as it is (``gallery_site_files``): a ZIP, a feed, a
    font. Listed in the manifest with its content type and cache policy and published like
    any other file; removed from the site when a build no longer returns it.

    Give exactly one of ``data`` (the bytes) and ``file`` (a file the plugin wrote, for large
    files: it is copied into the site, never moved, and only read)."""

    path: str  #: relative to the site root, e.g. "istanbul/album.zip"
    data: bytes | None = None
    file: Path | None = None
    #: what it is served as; None: what its extension says (application/octet-stream if unknown)
    content_type: str | None = None
    #: REVALIDATE (a name that stays), or IMMUTABLE for a name that changes with the content
    cache_control: str = REVALIDATE


@dataclass(frozen=True)
class SiteFile:
    """A file of the built site as the manifest lists it."""

    path: str
    md5: str
    size: int
    content_type: str
    cache_control: str


@dataclass
class Site:
    """Everything the render and manifest stages see: the album tree and the files so far."""

    name: str
    title: str
    root: Album
    pictures: list[Picture]
    #: theme asset name ("style.css") -> output relpath ("_static/style.3f2a9c1b.css")
    assets: dict[str, str] = field(default_factory=dict)
    files: dict[str, SiteFile] = field(default_factory=dict)

    def albums(self) -> list[Album]:
        return self.root.walk()
