"""``build()``: calls the hooks in order, owns parallelism, caching and what gets written.

scan + examine (identify/fingerprint/metadata) -> pictures -> images (executor) -> album tree
-> site assets (theme and plugin static files) -> pages -> extra files (plugins') -> manifest
(last) -> remove what is stale. ``_build`` reads as these stages, each a function returning
what it made.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from gallery_builder import (
    __version__,
    keylength,
    site_stages,
    theming,
)
from gallery_builder.albumtext import album_folders, album_text_stamp, describe_albums
from gallery_builder.build_result import BuildResult, StrictFailure
from gallery_builder.config import Config
from gallery_builder.derivatives import make_images, move_into_site
from gallery_builder.encryption_state import leave_encrypted_mode, was_encrypted
from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.journal import remove_leftovers
from gallery_builder.model import (
    IMMUTABLE,
    Album,
    ImageProcessor,
    Picture,
    ProcessorInfo,
    Site,
    SiteFile,
    Source,
)
from gallery_builder.originals import (
    choose_originals,
    load_withheld,
    store_withheld,
)
from gallery_builder.out_listing import OutListing
from gallery_builder.passwords import check_password_choice, refuse_clear_build
from gallery_builder.plugin_answers import answers_by_plugin, plugin_folders
from gallery_builder.plugin_manager import GalleryPluginManager, required
from gallery_builder.processors import check_formats, choose_processor, processor_key
from gallery_builder.progress import Reporter
from gallery_builder.publish_settings import PublishSettings
from gallery_builder.root_pages import write_site_theme
from gallery_builder.site_settings import check_publisher, record_settings
from gallery_builder.sitefiles import SiteWriter, content_type, remove_stale
from gallery_builder.source_stages import (
    examine,
    is_utf8,
    make_pictures,
    printable,
    scan,
    usable,
)
from gallery_builder.sourcefilter import (
    TOO_DEEP,
    is_candidate,
    within_depth,
)
from gallery_builder.state import BuildState, OutputRecord, SourceRecord

STATIC_DIR = site_stages.STATIC_DIR
#: state.meta key: the album description files seen (see gallery_builder.albumtext)
ALBUM_TEXTS = "album_texts"


def build(
    config: Config,
    out_dir: Path,
    pm: GalleryPluginManager,
    *,
    jobs: int | None = None,
    force: bool = False,
    strict: bool = False,
    reporter: Reporter | None = None,
    password: str | None = None,
    no_encryption: bool = False,
) -> BuildResult:
    """Build the site of ``config.source`` into ``out_dir``; see docs/building.md.

    With a ``password``, the site published from ``out_dir`` is the encrypted one
    (gallery_builder.encrypted_build); ``no_encryption`` allows a build without one into an
    ``out_dir`` whose last build was encrypted."""
    check_password_choice(config, password, no_encryption)
    if password is not None:
        from gallery_builder.encrypted_build import build_encrypted  # it calls build_clear

        return build_encrypted(
            config, out_dir, pm, password, jobs=jobs, force=force, strict=strict,
            reporter=reporter,
        )  # fmt: skip
    return build_clear(
        config, out_dir, pm, jobs=jobs, force=force, strict=strict, reporter=reporter,
        leave_encryption=no_encryption,
    )  # fmt: skip


def build_clear(
    config: Config,
    out_dir: Path,
    pm: GalleryPluginManager,
    *,
    jobs: int | None = None,
    force: bool = False,
    strict: bool = False,
    reporter: Reporter | None = None,
    leave_encryption: bool = False,
    site_root: Path | None = None,
) -> BuildResult:
    """Build the clear site into ``out_dir``. ``site_root``: the folder the site is published
    from, when ``out_dir`` is not it (an encrypted build's clear site): like ``out_dir``,
    never scanned, never holding the source."""
    started = time.perf_counter()
    reporter = reporter or Reporter()
    processor = choose_processor(pm, config)
    check_formats(config, *processor)
    check_publisher(config, pm)
    theme = site_theme(config, pm)
    out_dir = out_dir.resolve()
    check_source_outside(config, out_dir)
    if site_root is not None:
        check_source_outside(config, site_root.resolve())
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise GalleryError(f"cannot create the output folder {out_dir}: {exc.strerror}") from None
    result = BuildResult(out_dir=out_dir)
    with BuildState(out_dir) as state:
        if was_encrypted(state):
            if not leave_encryption:
                raise refuse_clear_build(out_dir)
            leave_encrypted_mode(state)
        try:
            # what a killed build may have left: images it was making, temporary files
            state.discard_staging()
            remove_leftovers(out_dir, state.unsure)
            result = _build(
                pm, config, state, out_dir, result, jobs, force, strict, reporter, theme, started,
                (site_root or out_dir).resolve(), processor,
            )  # fmt: skip
            record_settings(out_dir, config)  # for `gallery publish` with no TARGET
            return result
        except StrictFailure:
            raise  # it failed before anything in OUT changed, the state included
        except BaseException:
            # Keep what was learnt and made, so the next build reuses it; but without the
            # fingerprint, so the next build runs in full and completes the site.
            state.meta.pop("fingerprint", None)
            state.settle()
            with contextlib.suppress(Exception):  # never hide the original error
                state.save_and_clear_journal()
            raise
        finally:
            with contextlib.suppress(OSError):
                state.discard_staging()


def site_theme(config: Config, pm: GalleryPluginManager) -> theming.SiteTheme:
    """The theme chain ``[gallery] theme`` names, and the plugins' template and static
    folders; every folder a plugin gives is checked to exist (an error naming the plugin)."""
    installed = theming.installed_themes(
        (plugin, folder)
        for plugin, folders in answers_by_plugin(pm, "gallery_themes")
        for folder in folders
    )
    return theming.SiteTheme(
        chain=theming.theme_chain(config.gallery.theme, installed),
        template_folders=tuple(plugin_folders(pm, "gallery_template_folders")),
        static_folders=tuple(plugin_folders(pm, "gallery_static_folders")),
    )


@dataclass
class Examined:
    """What the scan found and what is known of each file (see :func:`_examine`)."""

    sources: list[Source]
    records: dict[str, SourceRecord]
    fingerprint: str
    album_texts: str
    #: no source file was added, removed or changed, nor an album's description
    unchanged: bool


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
    theme: theming.SiteTheme,
    started: float,
    site_root: Path,
    processor: tuple[ImageProcessor, ProcessorInfo],
) -> BuildResult:
    """The stages, inside the build state's lock (see :func:`build`), each returning what it
    made."""
    fingerprint = _fingerprint(config, theme, pm, processor_key(*processor))
    examined = _examine(pm, config, state, [site_root, out_dir], fingerprint, force, result)
    if (
        examined.unchanged
        and examined.fingerprint == state.meta.get("fingerprint")
        and _outputs_exist(state)
    ):
        # Nothing that shapes the site changed and every file it wrote is there.
        return _nothing_to_do(state, result, strict, reporter, started)
    state.check_writable()
    previous_outputs = dict(state.outputs)
    state.sources = examined.records
    state.meta["fingerprint"] = examined.fingerprint
    pictures = _pictures(pm, config, state, examined, result, strict, reporter)
    pictures = _images(
        pm, config, state, out_dir, pictures, jobs, force, strict, reporter, result, processor
    )
    root = _album_tree(pm, config, state, pictures, examined.album_texts, reporter)
    site = Site(name=config.gallery.name, title=config.gallery.title, root=root, pictures=pictures)
    new_outputs = _image_outputs(site)
    writer = SiteWriter(out_dir, state, new_outputs, site, result.written, force)
    site.assets = site_stages.site_assets(theme, writer)
    site_stages.pages(pm, config, site, theme, writer)
    write_site_theme(out_dir, theme.chain, config.gallery.lang)  # for the bucket root, at publish
    site_stages.extra_files(pm, config, site, writer)
    site_stages.write_manifest(pm, config, site, writer)  # last of the site
    result.removed = _clean_up(out_dir, state, previous_outputs, new_outputs)
    result.pictures = len(pictures)
    result.albums = len(root.walk()) if pictures else 0
    state.meta["albums"] = str(result.albums)
    store_withheld(state.meta, result.withheld_warnings)
    state.save_and_clear_journal()
    result.seconds = time.perf_counter() - started
    return result


def check_source_outside(config: Config, out_dir: Path) -> None:
    """Refuse an output folder that is, or holds, the source folder (a usage error)."""
    source = config.source.resolve()
    if out_dir == source or out_dir in source.parents:
        raise SettingError(
            f"the output folder {out_dir} holds the source folder {source}: the site would "
            "be built from itself; choose another output folder (-o)"
        )


# --- Stages ----------------------------------------------------------------------------------


def _examine(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    exclude: list[Path],
    fingerprint: str,
    force: bool,
    result: BuildResult,
) -> Examined:
    """Scan, then identify, fingerprint and read each new or changed file; what cannot be
    used goes into ``result.skipped``."""
    sources, too_deep = within_depth(scan(pm, config, exclude))
    # bytes that are not UTF-8 in a file or folder name: no page, URL or S3 key can carry them
    unnamed = [s.relpath for s in sources if not is_utf8(s.relpath)]
    sources = [s for s in sources if is_utf8(s.relpath)]
    refresh = fingerprint != state.meta.get("fingerprint")
    records = examine(pm, config, state, sources, force, refresh)
    texts = album_text_stamp(config.source, album_folders(list(records)))
    unchanged = not force and records == state.sources and texts == state.meta.get(ALBUM_TEXTS, "")
    result.skipped = sorted((r.relpath, r.error) for r in records.values() if r.error)
    result.skipped += [
        (printable(relpath), "its name is not valid UTF-8; rename it") for relpath in unnamed
    ]
    result.skipped += [(printable(folder) + "/", TOO_DEEP) for folder in too_deep]
    return Examined(sources, records, fingerprint, texts, unchanged)


def _pictures(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    examined: Examined,
    result: BuildResult,
    strict: bool,
    reporter: Reporter,
) -> list[Picture]:
    """The usable pictures, each with its slug; with ``--strict``, fail now if any was
    skipped, before any image is made."""
    sources, records = examined.sources, examined.records
    found = usable(pm, config, sources, records)
    # slugs are given over every candidate picture, usable or not, so that one picture failing
    # (or being fixed) never renames its siblings
    # (media that is not supported yet is not one: the JPEG beside a HEIC keeps its slug)
    candidates = [s for s in sources if is_candidate(records[s.relpath])]
    pictures = make_pictures(found, candidates)
    pictures = keylength.leave_out_overlong(
        pictures, config.gallery.name, config.images.originals, state, result
    )
    if strict and result.skipped:
        _report_skips(result, strict, reporter)  # fails now, before any image is made
    return pictures


def _images(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    out_dir: Path,
    pictures: list[Picture],
    jobs: int | None,
    force: bool,
    strict: bool,
    reporter: Reporter,
    result: BuildResult,
    processor: tuple[ImageProcessor, ProcessorInfo],
) -> list[Picture]:
    """Make the missing images (with ``processor``) and move them into the site; the pictures
    that have images, their originals chosen."""
    staged = make_images(
        pm, config, state, out_dir, pictures, jobs, force, reporter, result, defer=strict,
        processor=processor,
    )  # fmt: skip
    _report_skips(result, strict, reporter)
    move_into_site(state, out_dir, staged, result.written)  # with --strict: only now
    pictures = [p for p in pictures if p.derivatives]
    result.withheld_warnings = choose_originals(pictures, config.images)
    _report_withheld(result, reporter)
    return pictures


def _album_tree(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    pictures: list[Picture],
    texts: str,
    reporter: Reporter,
) -> Album:
    """The root album, with the albums' descriptions read."""
    root = required(
        pm.hook.gallery_album_tree(pictures=pictures, config=config), "gallery_album_tree"
    )
    problems = describe_albums(root, config.source)
    for problem in problems:
        reporter.warn(problem)
    # a description that could not be read is tried again next time (never a no-op till then)
    state.meta[ALBUM_TEXTS] = texts + ("\n(unread)" if problems else "")
    return root


def _image_outputs(site: Site) -> dict[str, OutputRecord]:
    """The outputs of the site's images, which are listed in ``site.files`` too."""
    outputs: dict[str, OutputRecord] = {}
    files = site.files
    types: dict[str, str] = {}  # content types by extension: a site has few, and many images
    for picture in site.pictures:
        for d in picture.derivatives.values():
            outputs[d.path] = OutputRecord(d.path, d.md5, d.size, d.width, d.height)
            extension = d.path.rpartition(".")[2]
            kind = types.get(extension) or types.setdefault(extension, content_type(d.path))
            files[d.path] = SiteFile(d.path, d.md5, d.size, kind, IMMUTABLE)
    return outputs


def _clean_up(
    out_dir: Path,
    state: BuildState,
    previous: dict[str, OutputRecord],
    current: dict[str, OutputRecord],
) -> list[str]:
    """Remove the files the previous build wrote and this one did not (never anything else);
    from now on the state lists this build's outputs. The paths removed."""
    removed = remove_stale(out_dir, previous, current)
    state.outputs = current
    return removed


def _fingerprint(
    config: Config, theme: theming.SiteTheme, pm: GalleryPluginManager, processor: str
) -> str:
    """A hash of everything but the pictures that shapes the site: settings, versions (the
    image processor's, ``processor``: its name and version), the active plugins, the theme's
    files and the plugins' template and static folders' files.
    Plugins are assumed to answer the same for the same input; ``--force`` rebuilds
    regardless."""
    # the settings, not where they were typed from: `photos` and `/home/me/photos` are one build
    # and not where it is published ([publish]): what of it shapes the site is in base_url
    # nor whether it is published encrypted: the clear site is the same either way
    settings = dataclasses.replace(
        config,
        source=config.source.resolve(),
        file=None,
        publish=PublishSettings(),
        gallery=dataclasses.replace(config.gallery, encrypt=False),
    )
    parts = [repr(settings), __version__, processor]
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        if plugin is None:
            continue
        dist = pm.distributions.get(name)
        parts.append(f"{name}={dist.version if dist else ''}")
        code = getattr(plugin, "__file__", None) or getattr(type(plugin), "__module__", "")
        parts.append(f"{code}:{_mtime(code)}")
    for folder in theme.folders():
        for file in sorted(folder.rglob("*")):
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


def _report_withheld(result: BuildResult, reporter: Reporter) -> None:
    result.originals_withheld = list(result.withheld_warnings)
    for warning in result.withheld_warnings.values():
        reporter.warn(warning)


def _outputs_exist(state: BuildState) -> bool:
    """Whether every file the last build wrote is still in OUT: one listing per folder, not a
    ``stat()`` per file (a file whose content is unknown, from a killed build, is not)."""
    paths = state.output_paths()
    if paths is None:
        return False
    return OutListing(state.dir.parent).has_all(paths)


def _nothing_to_do(
    state: BuildState, result: BuildResult, strict: bool, reporter: Reporter, started: float
) -> BuildResult:
    _report_skips(result, strict, reporter)
    result.withheld_warnings = load_withheld(state.meta)
    _report_withheld(result, reporter)
    result.pictures = result.reused = sum(
        1 for r in state.sources.values() if r.kind and r.md5 and not r.error
    )
    result.albums = int(state.meta.get("albums", "0"))
    result.seconds = time.perf_counter() - started
    return result
