"""``build()``: calls the hooks in order, owns parallelism, caching and what gets written.

scan -> identify/fingerprint/metadata -> derivative specs -> images (executor) -> album tree
-> theme assets -> pages -> manifest (last) -> remove what is stale.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from gallery_builder import __version__, imaging, manifest, slugs, theming
from gallery_builder.config import Config
from gallery_builder.errors import BadPicture, GalleryError, ThemeError
from gallery_builder.model import (
    IMMUTABLE,
    REVALIDATE,
    Derivative,
    DerivativeSpec,
    ImageJob,
    Metadata,
    Page,
    Picture,
    Site,
    SiteFile,
    Source,
)
from gallery_builder.plugin_manager import GalleryPluginManager
from gallery_builder.progress import Reporter
from gallery_builder.rendering import page_context
from gallery_builder.state import BuildState, OutputRecord, SourceRecord, metadata_json

#: file names that promise a picture: a file so named that is not one is reported, not ignored
PICTURE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".avif"}
)
STATIC_DIR = "_static"


class StrictFailure(GalleryError):
    """``--strict`` and a picture was skipped."""


@dataclass
class BuildResult:
    """What a build did, for the summary and for tests."""

    out_dir: Path
    pictures: int = 0
    albums: int = 0
    made: int = 0  #: pictures whose images were made this build
    reused: int = 0  #: pictures whose images were all reused
    skipped: list[tuple[str, str]] = field(default_factory=list)  #: (relpath, reason)
    written: list[str] = field(default_factory=list)  #: files written, relative to out_dir
    removed: list[str] = field(default_factory=list)  #: stale files removed
    seconds: float = 0.0

    def summary(self) -> str:
        line = (
            f"{self.pictures} pictures in {self.albums} albums: {self.made} built, "
            f"{self.reused} reused, {len(self.skipped)} skipped; "
            f"{len(self.written)} files written, {len(self.removed)} removed "
            f"in {self.seconds:.2f} s"
        )
        return line


def build(
    config: Config,
    out_dir: Path,
    pm: GalleryPluginManager,
    *,
    jobs: int | None = None,
    force: bool = False,
    strict: bool = False,
    reporter: Reporter | None = None,
) -> BuildResult:
    """Build the site of ``config.source`` into ``out_dir``; see docs/building.md."""
    started = time.perf_counter()
    reporter = reporter or Reporter()
    for fmt in config.images.formats:
        if not imaging.format_available(fmt):
            raise GalleryError(
                f"this Pillow cannot write {fmt} (set by [images] formats); "
                "install a Pillow built with it or remove it from formats"
            )
    chain = theming.theme_chain(
        config.gallery.theme, theming.installed_themes(_flatten(pm.hook.gallery_themes()))
    )
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    result = BuildResult(out_dir=out_dir)
    with BuildState(out_dir) as state:
        try:
            return _build(
                pm, config, state, out_dir, result, jobs, force, strict, reporter, chain, started
            )
        except BaseException:
            # Keep what was learnt and made, so the next build reuses it; but without the
            # fingerprint, so the next build runs in full and completes the site.
            state.meta.pop("fingerprint", None)
            state.save()
            raise


def _build(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    out_dir: Path,
    result: BuildResult,
    jobs: int | None,
    force: bool,
    strict: bool,
    reporter: Reporter,
    chain: list[theming.Theme],
    started: float,
) -> BuildResult:
    """The stages, inside the build state's lock (see :func:`build`)."""
    previous_outputs = dict(state.outputs)
    sources = _scan(pm, config, out_dir)
    records = _examine(pm, config, state, sources, force)
    fingerprint = _fingerprint(config, chain, pm)
    unchanged = not force and records == state.sources
    result.skipped = sorted((r.relpath, r.error) for r in records.values() if r.error)
    if unchanged and fingerprint == state.meta.get("fingerprint") and _outputs_exist(state):
        # Nothing that shapes the site changed and every file it wrote is there.
        return _nothing_to_do(state, result, strict, reporter, started)
    state.sources = records
    state.meta["fingerprint"] = fingerprint
    found = [
        _Found(s, r.md5, r.metadata)
        for s in sources
        if (r := records[s.relpath]).kind and r.md5 and r.metadata_json and not r.error
    ]
    pictures = _make_pictures(found)
    _make_images(pm, config, state, out_dir, pictures, jobs, force, reporter, result)
    _report_skips(result, strict, reporter)
    pictures = [p for p in pictures if p.derivatives]
    root = _required(
        pm.hook.gallery_album_tree(pictures=pictures, config=config), "gallery_album_tree"
    )
    site = Site(name=config.gallery.name, title=config.gallery.title, root=root, pictures=pictures)
    new_outputs: dict[str, OutputRecord] = {}
    for picture in pictures:
        for d in picture.derivatives.values():
            new_outputs[d.path] = OutputRecord(d.path, d.md5, d.size, d.width, d.height)
            site.files[d.path] = _site_file(d.path, d.md5, d.size, IMMUTABLE)
    writer = _Writer(out_dir, state, new_outputs, site, result, force)
    for name, path in theming.theme_assets(chain).items():
        data = path.read_bytes()
        stem, ext = posixpath.splitext(name)
        target = f"{STATIC_DIR}/{stem}.{hashlib.md5(data).hexdigest()[:8]}{ext}"
        site.assets[name] = target
        writer.write(target, data, cache_control=IMMUTABLE)
    _render_pages(pm, config, site, chain, writer)
    extra = {}
    for fields in pm.hook.gallery_manifest_fields(site=site, config=config):
        extra.update(fields or {})
    try:
        data = manifest.dumps(manifest.build_manifest(site, config.images.formats[-1], extra))
    except ValueError as exc:
        raise GalleryError(str(exc)) from None
    writer.write(manifest.MANIFEST_NAME, data, cache_control=None)  # last of the site
    result.removed = _remove_stale(out_dir, previous_outputs, new_outputs)
    result.pictures = len(pictures)
    result.albums = len(root.walk()) if pictures else 0
    state.outputs = new_outputs
    state.meta["albums"] = str(result.albums)
    state.save()
    result.seconds = time.perf_counter() - started
    return result


def _required(answer, hook: str):
    """The answer of a hook the build cannot do without."""
    if answer is None:
        raise GalleryError(
            f"no active plugin answers {hook}; was a built-in plugin blocked? "
            "(see `gallery plugins`)"
        )
    return answer


def _flatten(lists: Iterable[Iterable | None]) -> list:
    return [item for group in lists if group for item in group]


def _site_file(path: str, md5: str, size: int, cache_control: str) -> SiteFile:
    return SiteFile(path, md5, size, _content_type(path), cache_control)


_CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "json": "application/json",
    "svg": "image/svg+xml",
    "ico": "image/x-icon",
    "txt": "text/plain; charset=utf-8",
    "xml": "application/xml",
    "woff2": "font/woff2",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "png": "image/png",
    "gif": "image/gif",
}


def _content_type(path: str) -> str:
    return _CONTENT_TYPES.get(path.rpartition(".")[2].lower(), "application/octet-stream")


# --- Stages ----------------------------------------------------------------------------------


def _scan(pm: GalleryPluginManager, config: Config, out_dir: Path) -> list[Source]:
    seen: dict[str, Source] = {}
    for source in _flatten(pm.hook.gallery_scan(config=config, exclude=[out_dir])):
        seen.setdefault(source.relpath, source)
    return [seen[relpath] for relpath in sorted(seen)]


@dataclass
class _Found:
    source: Source
    md5: str
    metadata: Metadata


def _examine(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    sources: list[Source],
    force: bool,
) -> dict[str, SourceRecord]:
    """Identify, fingerprint and read the metadata of each source, reusing what the state
    knows about unchanged files (the same record object, so comparing is cheap)."""
    records: dict[str, SourceRecord] = {}
    for source in sources:
        old = state.sources.get(source.relpath)
        if old is not None and not force and old.matches(source):
            record = old
        elif (
            old is not None
            and not force
            and old.kind
            and old.md5
            and (old.size, old.mtime_ns) == (source.size, source.mtime_ns)
        ):
            record = _read(pm, config, source, old.kind, old.md5)  # only a sidecar changed
        else:
            kind = pm.hook.gallery_identify(source=source, config=config) or ""
            record = _read(pm, config, source, kind, None)
        records[source.relpath] = record
    return records


def _fingerprint(config: Config, chain: list[theming.Theme], pm: GalleryPluginManager) -> str:
    """A hash of everything but the pictures that shapes the site: settings, versions, the
    active plugins, the theme's files. Plugins are assumed to answer the same for the same
    input; ``--force`` rebuilds regardless."""
    parts = [repr(config), __version__, imaging.PROCESSOR_VERSION]
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist = pm.distributions.get(name)
        parts.append(f"{name}={dist.version if dist else ''}")
        code = getattr(plugin, "__file__", None) or getattr(type(plugin), "__module__", "")
        parts.append(f"{code}:{_mtime(code)}")
    for theme in chain:
        for file in sorted(theme.path.rglob("*")):
            parts.append(f"{file}:{_mtime(file)}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _mtime(path: str | Path) -> str:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return "-"
    return f"{info.st_size}:{info.st_mtime_ns}"


def _report_skips(result: BuildResult, strict: bool, reporter: Reporter) -> None:
    for relpath, reason in result.skipped:
        reporter.warn(f"skipped {relpath}: {reason}")
    if strict and result.skipped:
        raise StrictFailure(
            f"{len(result.skipped)} picture(s) skipped and --strict is set; "
            "the site was not updated"
        )


def _outputs_exist(state: BuildState) -> bool:
    out = state.dir.parent
    return all(_exists(f"{out}/{r.path}", r.size) for r in state.outputs.values())


def _nothing_to_do(
    state: BuildState, result: BuildResult, strict: bool, reporter: Reporter, started: float
) -> BuildResult:
    _report_skips(result, strict, reporter)
    result.pictures = result.reused = sum(
        1 for r in state.sources.values() if r.kind and r.md5 and not r.error
    )
    result.albums = int(state.meta.get("albums", "0"))
    result.seconds = time.perf_counter() - started
    return result


def _read(
    pm: GalleryPluginManager, config: Config, source: Source, kind: str, md5: str | None
) -> SourceRecord:
    record = SourceRecord(
        source.relpath, source.size, source.mtime_ns, source.sidecar, source.sidecar_mtime_ns, kind
    )
    if not kind:
        if os.path.splitext(source.relpath)[1].lower() not in PICTURE_EXTENSIONS:
            return record  # not a picture and does not pretend to be: ignored
        reason = "empty file" if source.size == 0 else "not a picture (unknown content)"
        return SourceRecord(**{**record.__dict__, "error": reason})
    try:
        md5 = md5 or _required(
            pm.hook.gallery_fingerprint(source=source, config=config), "gallery_fingerprint"
        )
        metadata = _required(
            pm.hook.gallery_read_metadata(source=source, config=config), "gallery_read_metadata"
        )
    except BadPicture as exc:
        return SourceRecord(**{**record.__dict__, "error": str(exc)})
    except OSError as exc:
        return SourceRecord(**{**record.__dict__, "error": f"cannot read: {exc.strerror}"})
    return SourceRecord(**{**record.__dict__, "md5": md5, "metadata_json": metadata_json(metadata)})


def _make_pictures(found: list[_Found]) -> list[Picture]:
    """Slug albums and pictures: unique among siblings, stable for a given set of names."""
    folders = {f.source.album_relpath for f in found}
    album_paths = slugs.album_paths(folders)
    pictures = []
    by_folder: dict[str, list[_Found]] = {}
    for f in found:
        by_folder.setdefault(f.source.album_relpath, []).append(f)
    for folder, items in sorted(by_folder.items()):
        names = slugs.unique_slugs(
            [f.source.filename for f in items], "picture", text=lambda n: os.path.splitext(n)[0]
        )
        for f in items:
            pictures.append(
                Picture(
                    source=f.source,
                    md5=f.md5,
                    metadata=f.metadata,
                    slug=names[f.source.filename],
                    album_path=album_paths[folder],
                )
            )
    return pictures


def derivative_path(picture: Picture, spec: DerivativeSpec, draft_scale: int = 1) -> str:
    """``<album>/<picture-slug>.<variant>.<hash8>.<ext>``; the hash is of the cache key (the
    source's MD5, the spec's settings, the decode scale, the processor's version), so the name
    changes whenever the bytes may."""
    key = "|".join(
        str(v)
        for v in (
            picture.md5, spec.kind, spec.box, spec.format, spec.quality,
            spec.keep_exif, spec.strip_gps, draft_scale, imaging.PROCESSOR_VERSION,
        )
    )  # fmt: skip
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    name = f"{picture.slug}.{spec.variant}.{digest}.{imaging.EXTENSIONS[spec.format]}"
    return f"{picture.album_path}/{name}" if picture.album_path else name


def _make_images(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    out_dir: Path,
    pictures: list[Picture],
    jobs: int | None,
    force: bool,
    reporter: Reporter,
    result: BuildResult,
) -> None:
    """Reuse the derivatives that exist; make the others on the executor."""
    work: list[tuple[Picture, ImageJob]] = []
    for picture in pictures:
        specs = _flatten(
            pm.hook.gallery_derivative_specs(
                source=picture.source, metadata=picture.metadata, config=config
            )
        )
        keys = [s.key for s in specs]
        if len(set(keys)) != len(keys):
            dupes = sorted({k for k in keys if keys.count(k) > 1})
            raise GalleryError(f"two derivative specs share a key: {', '.join(dupes)}")
        if not specs:
            reason = "no plugin asked for any image of it (is the 'images' plugin blocked?)"
            _skip(state, result, picture, reason)
            continue
        md = picture.metadata
        scale = imaging.draft_scale(md.format, specs, md.width, md.height)
        missing = []
        for spec in specs:
            path = derivative_path(picture, spec, scale)
            record = state.outputs.get(path)
            if not force and record is not None and _exists(f"{out_dir}/{path}", record.size):
                picture.derivatives[spec.key] = Derivative(
                    spec.key, path, record.width, record.height, record.md5, record.size
                )
            else:
                missing.append((spec, path))
        if missing:
            job = ImageJob(
                source_path=picture.source.path,
                output_root=str(out_dir),
                targets=tuple(missing),
                decode_specs=tuple(specs),
            )
            work.append((picture, job))
        else:
            result.reused += 1
    if not work:
        result.skipped.sort()
        return
    by_source = {job.source_path: (picture, job) for picture, job in work}
    reporter.start(len(work))
    executor = _required(pm.hook.gallery_executor(config=config, jobs=jobs), "gallery_executor")
    try:
        for image_result in _run(executor, (job for _, job in work), len(work)):
            picture, job = by_source[image_result.source_path]
            reporter.advance(picture.source.relpath)
            if image_result.error:
                _skip(state, result, picture, image_result.error)
                continue
            for d in image_result.derivatives:
                picture.derivatives[d.key] = d
                result.written.append(d.path)
                state.outputs[d.path] = OutputRecord(d.path, d.md5, d.size, d.width, d.height)
            result.made += 1
    finally:
        reporter.stop()
        executor.shutdown(wait=True, cancel_futures=True)
    result.skipped.sort()


def _skip(state: BuildState, result: BuildResult, picture: Picture, reason: str) -> None:
    """Leave ``picture`` out of the site, and remember why until the file changes."""
    picture.derivatives.clear()
    record = state.sources[picture.source.relpath]
    state.sources[picture.source.relpath] = SourceRecord(**{**record.__dict__, "error": reason})
    result.skipped.append((picture.source.relpath, reason))


def _run(executor, jobs: Iterable[ImageJob], total: int):
    """Results as they complete, with a bounded number of jobs in flight (so memory does not
    grow with the number of pictures)."""
    window = max(4, 4 * (getattr(executor, "_max_workers", None) or os.cpu_count() or 1))
    pending: set[Future] = set()
    queue = iter(jobs)
    for job in queue:
        pending.add(executor.submit(imaging.process_image, job))
        # harvest what has finished at once (block only when the window is full), so that
        # progress is current and an interrupted build has recorded all it finished
        full = len(pending) >= window
        done, pending = wait(pending, timeout=None if full else 0, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()


def _exists(path: str | Path, size: int) -> bool:
    try:
        return os.stat(path).st_size == size
    except OSError:
        return False


class _Writer:
    """Writes a site file only when its bytes differ from what is there."""

    def __init__(self, out_dir, state, new_outputs, site, result, force):
        self.out_dir: Path = out_dir
        self.state: BuildState = state
        self.new_outputs: dict[str, OutputRecord] = new_outputs
        self.site: Site = site
        self.result: BuildResult = result
        self.force = force

    def write(self, relpath: str, data: bytes, *, cache_control: str | None) -> None:
        """Write ``relpath`` if it changed; list it in the manifest unless ``cache_control``
        is None (the manifest itself)."""
        if relpath in self.new_outputs:
            raise GalleryError(f"two outputs claim the same file: {relpath}")
        md5 = hashlib.md5(data).hexdigest()
        record = OutputRecord(relpath, md5, len(data))
        old = self.state.outputs.get(relpath)
        target = self.out_dir / relpath
        if self.force or old is None or old.md5 != md5 or not _exists(target, len(data)):
            imaging._write_atomic(target, data)
            self.result.written.append(relpath)
        self.new_outputs[relpath] = record
        if cache_control is not None:
            self.site.files[relpath] = _site_file(relpath, md5, len(data), cache_control)


def _render_pages(pm, config: Config, site: Site, chain, writer: _Writer) -> None:
    environment = theming.make_environment(chain)
    pages: list[Page] = _flatten(pm.hook.gallery_pages(site=site, config=config))
    for page in sorted(pages, key=lambda p: p.path):
        context = page_context(page, site, config)
        for extra in pm.hook.gallery_template_context(page=page, site=site, config=config):
            context.update(extra or {})
        try:
            html = pm.hook.gallery_render_page(page=page, context=context, environment=environment)
        except jinja2.TemplateSyntaxError as exc:
            raise ThemeError(
                f"template {exc.filename or exc.name}:{exc.lineno}: {exc.message}"
            ) from None
        except (jinja2.TemplateError, LookupError, ValueError, TypeError) as exc:
            # LookupError: a helper asked for an asset or image that does not exist
            raise ThemeError(f"cannot render {page.path} from {page.template}: {exc}") from None
        writer.write(page.path, html.encode("utf-8"), cache_control=REVALIDATE)


def _remove_stale(
    out_dir: Path, previous: dict[str, OutputRecord], current: dict[str, OutputRecord]
) -> list[str]:
    """Delete files an earlier build wrote that this one did not; never anything else."""
    removed = []
    for relpath in sorted(set(previous) - set(current)):
        target = out_dir / relpath
        try:
            target.unlink()
            removed.append(relpath)
        except FileNotFoundError:
            continue
        parent = target.parent
        while parent != out_dir:
            try:
                parent.rmdir()  # only succeeds when empty
            except OSError:
                break
            parent = parent.parent
    return removed
