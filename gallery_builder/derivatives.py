"""The images of a build: each picture's derivative specs, their immutable names, and making
the missing ones on the executor, one decode per picture."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import re
import shutil
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from pathlib import Path

from gallery_builder import imaging, processors
from gallery_builder.build_result import BuildResult
from gallery_builder.config import Config
from gallery_builder.errors import GalleryError
from gallery_builder.model import (
    Derivative,
    DerivativeSpec,
    ImageJob,
    ImageProcessor,
    ImageResult,
    Picture,
    ProcessorInfo,
)
from gallery_builder.out_listing import OutListing
from gallery_builder.plugin_manager import GalleryPluginManager, collected, required
from gallery_builder.progress import Reporter
from gallery_builder.resize_plan import source_chain
from gallery_builder.sitefiles import write_failure
from gallery_builder.state import UNKNOWN_SIZE, BuildState, OutputRecord
from gallery_builder.step_collection import StepCollector, failure_error

#: the longest variant: it is part of a file name, and of a key S3 limits (keylength.py)
MAX_VARIANT = 32
#: what a variant may be called: it is part of a file name
VARIANT = re.compile(rf"[a-z0-9][a-z0-9-]{{0,{MAX_VARIANT - 1}}}")
#: the cache key's processor part for the built-in Pillow processor
#: (:func:`gallery_builder.processors.processor_key`)
PILLOW_KEY = f"{processors.DEFAULT_PROCESSOR}/{imaging.PROCESSOR_VERSION}"


def derivative_path(
    picture: Picture,
    spec: DerivativeSpec,
    draft_scale: int = 1,
    steps_key: str = "",
    processor_key: str = PILLOW_KEY,
    source_chain: tuple[tuple[int, int], ...] = (),
) -> str:
    """``<album>/<picture-slug>.<variant>.<hash8>.<ext>``; the hash is of the cache key (the
    source's MD5, the spec's settings and encoder options, the decode scale, the processor's
    name and version, ``processor_key``, the sizes it is resized through,
    :func:`gallery_builder.resize_plan.source_chain`, and the picture's image steps,
    :meth:`gallery_builder.step_collection.StepCollector.steps`), so the name changes
    whenever the bytes may."""
    key = "|".join(
        str(v)
        for v in (
            picture.md5, spec.kind, spec.box, spec.format, spec.quality,
            spec.keep_exif, spec.strip_gps, draft_scale, processor_key, spec.options,
        )
    )  # fmt: skip
    if source_chain:  # (an image resized from the decode has no chain to add)
        key += "\nfrom:" + ",".join(f"{w}x{h}" for w, h in source_chain)
    if steps_key:  # (a picture without steps keeps the names it had before steps existed)
        key += "\nsteps:\n" + steps_key
    if not VARIANT.fullmatch(spec.variant):
        raise GalleryError(
            f"a derivative spec's variant must be lower-case letters, digits and '-', at "
            f"most {MAX_VARIANT} of them: "
            f"{spec.variant!r}"
        )
    digest = hashlib.sha256(key.encode()).hexdigest()[:8]
    name = f"{picture.slug}.{spec.variant}.{digest}.{imaging.EXTENSIONS[spec.format]}"
    return f"{picture.album_path}/{name}" if picture.album_path else name


def make_images(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    out_dir: Path,
    pictures: list[Picture],
    jobs: int | None,
    force: bool,
    reporter: Reporter,
    result: BuildResult,
    *,
    defer: bool = False,
    processor: tuple[ImageProcessor, ProcessorInfo] | None = None,
) -> list[Derivative]:
    """Reuse the derivatives that exist; make the others on the executor, with
    ``processor`` (:func:`gallery_builder.processors.choose_processor`; chosen here when not
    given).

    The workers write into the build state's staging folder; each picture's new images are
    moved into OUT as it is done, or, with ``defer`` (``--strict``), not at all: they are
    returned, for :func:`move_into_site` once the build knows it will go on."""
    chosen, info = processor or processors.choose_processor(pm, config)
    cache_key = processors.processor_key(chosen, info)
    threads = worker_threads(jobs)
    work: list[tuple[Picture, ImageJob]] = []
    collector = StepCollector(pm)
    listing, outputs = OutListing(out_dir), state.outputs  # (read from the state once)
    for picture in pictures:
        specs = collected(
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
        steps, steps_key = collector.steps(picture, config)
        missing = []
        for spec in specs:
            chain = source_chain(spec, specs, (md.width, md.height))
            path = derivative_path(picture, spec, scale, steps_key, cache_key, chain)
            record = outputs.get(path)
            if not force and _reusable(record, listing, path):
                picture.derivatives[spec.key] = Derivative(
                    spec.key, path, record.width, record.height, record.md5, record.size
                )
            else:
                missing.append((spec, path))
        if missing:
            job = ImageJob(
                source_path=picture.source.path,
                output_root=str(state.staging),
                targets=tuple(missing),
                draft_scale=scale,
                steps=steps,
                processor=chosen.worker,
                threads=threads,
                specs=tuple(specs),
            )
            work.append((picture, job))
        else:
            result.reused += 1
    staged: list[Derivative] = []
    if not work:
        result.skipped.sort()
        return staged
    _make_staging(state)
    by_source = {job.source_path: (picture, job) for picture, job in work}
    # before the progress bar: an executor that cannot start (a cluster out of reach) fails
    # with its one line, and leaves no bar behind
    executor = required(pm.hook.gallery_executor(config=config, jobs=jobs), "gallery_executor")
    reporter.start(len(work))
    try:
        for image_result in _run(executor, (job for _, job in work)):
            picture, job = by_source[image_result.source_path]
            reporter.advance(picture.source.relpath)
            if image_result.write_error:
                raise GalleryError(image_result.write_error)  # OUT is at fault: stop
            if image_result.step_error:  # a plugin is at fault: stop, the picture is fine
                failure = image_result.step_error
                raise failure_error(
                    failure, picture.source.relpath, collector.distribution(failure.plugin)
                )
            if image_result.error:
                _skip(state, result, picture, image_result.error)
                continue
            for d in image_result.derivatives:
                picture.derivatives[d.key] = d
            if defer:
                staged += image_result.derivatives
            else:
                move_into_site(state, out_dir, image_result.derivatives, result.written)
            result.made += 1
    except BrokenExecutor:  # the process pool lost a worker; a cluster's executor retries
        # on another worker, and says itself, as a GalleryError, when it cannot go on
        raise GalleryError(
            "an image worker died (out of memory, or killed) while making the images of: "
            + ", ".join(sorted(p.source.relpath for p, _ in work if not p.derivatives)[:5])
            + "; try fewer workers (-j 1) to find the picture"
        ) from None
    finally:
        reporter.stop()
        executor.shutdown(wait=True, cancel_futures=True)
    result.skipped.sort()
    return staged


def worker_threads(jobs: int | None) -> int:
    """The threads each of ``jobs`` workers may use (the CPUs shared out, at least 1)."""
    cpus = os.cpu_count() or 1
    return max(1, cpus // (jobs or cpus))


def _reusable(record: OutputRecord | None, listing: OutListing, path: str) -> bool:
    """Whether the last build wrote the image at ``path`` and it is still in OUT."""
    return record is not None and record.size != UNKNOWN_SIZE and listing.has(path)


def move_into_site(
    state: BuildState, out_dir: Path, derivatives: Iterable[Derivative], written: list[str]
) -> None:
    """Move images made in the staging folder into OUT (recorded in the journal first)."""
    derivatives = list(derivatives)
    state.journal.add(d.path for d in derivatives)
    for d in derivatives:
        target = out_dir / d.path
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(state.staging / d.path, target)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                shutil.move(state.staging / d.path, target)  # .gallery on another disk
        except OSError as exc:
            raise write_failure(target, exc) from None
        written.append(d.path)
        state.record_output(OutputRecord(d.path, d.md5, d.size, d.width, d.height))


def _make_staging(state: BuildState) -> None:
    try:
        state.staging.mkdir(exist_ok=True)
    except OSError as exc:
        raise GalleryError(
            f"cannot write into {state.dir} (where images are made): {exc.strerror or exc}; "
            f"make {state.dir.parent} writable or choose another output folder (-o)"
        ) from None


def _skip(state: BuildState, result: BuildResult, picture: Picture, reason: str) -> None:
    """Leave ``picture`` out of the site, and remember why until the file changes."""
    picture.derivatives.clear()
    record = state.sources[picture.source.relpath]
    state.sources[picture.source.relpath] = dataclasses.replace(record, error=reason)
    result.skipped.append((picture.source.relpath, reason))


def _run(executor: Executor, jobs: Iterable[ImageJob]) -> Iterator[ImageResult]:
    """Results as they complete, with a bounded number of jobs in flight (so memory does not
    grow with the number of pictures)."""
    window = max(4, 4 * (getattr(executor, "_max_workers", None) or os.cpu_count() or 1))
    pending: set[Future] = set()
    queue = iter(jobs)
    for job in queue:
        pending.add(executor.submit(processors.run_job, job))
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
