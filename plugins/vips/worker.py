"""The libvips image worker: ``process_image(job)``, run on the executor like Pillow's
(gallery_builder.imaging.process_image), with the same results for the same job: the same
sizes, crops, orientation, colours, metadata and errors, and nothing left behind on failure.

One decode per picture (a JPEG shrunk on load at the main process's ``job.draft_scale``),
then the resize plan both processors follow (gallery_builder.resize_plan: one resize per
distinct size and crop, each from the next larger one where that has enough pixels), each
resized buffer in memory and encoded to every format from there; libvips' threads sized by
``job.threads``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pyvips
from gallery_builder.plugins.vips import runtime
from gallery_builder.plugins.vips.bridge import from_pil, to_pil
from gallery_builder.plugins.vips.decode import Decoded, decode, readable
from gallery_builder.plugins.vips.encode import encode
from gallery_builder.plugins.vips.exif import published_block
from gallery_builder.plugins.vips.exif_container import replace_exif
from gallery_builder.plugins.vips.resize import resized
from PIL import Image

from gallery_builder import imaging
from gallery_builder.filesafety import write_atomic
from gallery_builder.image_steps import apply_steps, load_steps
from gallery_builder.imaging import OutputError
from gallery_builder.model import Derivative, DerivativeSpec, ImageJob, ImageResult
from gallery_builder.resize_plan import Resize, resize_plan

DECODE_ERRORS = (
    pyvips.Error,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    MemoryError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)

runtime.limit_malloc_arenas()  # as soon as a worker imports this module


def process_image(job: ImageJob) -> ImageResult:
    """Decode ``job.source_path`` once with libvips and write each target derivative.

    As Pillow's worker: the derivatives written; or an ``error`` (a reason for the user) when
    the picture cannot be decoded; or a ``write_error`` when the output cannot be written; or
    a ``step_error`` when a plugin's image step failed. Either way nothing is left behind.
    """
    return imaging.run_worker(job, _process, DECODE_ERRORS, describe_error)


def describe_error(exc: BaseException) -> str:
    """A reason for the user, worded as Pillow's worker words it."""
    if isinstance(exc, pyvips.Error):
        lines = [ln.strip() for ln in (exc.detail or exc.message or "").splitlines()]
        text = next((ln for ln in lines if ln and not ln.startswith("unable to")), "")
        return f"corrupt or truncated picture data ({text or exc.message.strip()})"
    return imaging.describe_decode_error(exc)


def _process(job: ImageJob, written: list[Path]) -> list[Derivative]:
    steps = load_steps(job.steps)  # before decoding: a step that cannot be imported costs none
    runtime.prepare(job.threads)
    decoded = decode(job.source_path, job.draft_scale)
    specs = job.specs or tuple(spec for spec, _ in job.targets)
    targets = [spec for spec, _ in job.targets]
    size = (decoded.image.width, decoded.image.height)
    plan = resize_plan(specs, targets, decoded.shown, size)
    base = readable(decoded, decode_readers(plan))
    out = []
    for step, resized_image in zip(plan, resized(base, plan), strict=True):
        for index in step.targets:
            spec, relpath = job.targets[index]
            out.append(_write(job, spec, relpath, resized_image, decoded, steps, written))
    return out


def decode_readers(plan: tuple[Resize, ...]) -> int:
    """How many times the decoded image is read: once per step resized from it, and once per
    format for a step that is the decode itself (encoded as it is)."""
    return sum(
        1 if step.resample else max(1, len(step.targets)) + 1
        for step in plan
        if step.source is None
    )


def _write(
    job: ImageJob,
    spec: DerivativeSpec,
    relpath: str,
    image: pyvips.Image,
    decoded: Decoded,
    steps: list,
    written: list[Path],
) -> Derivative:
    """Encode ``image`` as ``spec`` (after the image steps) and write it at ``relpath``."""
    if steps:  # on a PIL copy of its own, never on the shared buffer
        image = from_pil(apply_steps(to_pil(image), spec, steps))
    exif = _exif_block(decoded, spec)
    data = encode(image, spec, icc=decoded.icc, exif=exif)
    if exif:  # the block Pillow's worker writes, not libexif's with the tags it adds
        published = imaging._exif_bytes(decoded.exif, strip_gps=spec.strip_gps)
        data = replace_exif(data, spec.format, published or exif)
    target = Path(job.output_root, relpath)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    written.append(target)
    return Derivative(
        key=spec.key,
        path=relpath,
        width=image.width,
        height=image.height,
        md5=hashlib.md5(data).hexdigest(),
        size=len(data),
    )


def _exif_block(decoded: Decoded, spec: DerivativeSpec) -> bytes | None:
    if not spec.keep_exif:
        return None
    return published_block(decoded.exif, decoded.exif_block, strip_gps=spec.strip_gps)
