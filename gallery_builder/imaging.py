"""The image work: decode a picture once and write all its missing derivatives.

:func:`process_image` is a plain function over plain data so that any executor (a process
pool, a distributed one) can run it. Everything else here is the pure geometry it relies on,
shared with the main process.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from PIL import ExifTags, Image, features

from gallery_builder import cmyk
from gallery_builder.encoder_settings import effective_options
from gallery_builder.filesafety import write_atomic
from gallery_builder.image_steps import StepFailed, apply_steps, load_steps
from gallery_builder.model import Derivative, DerivativeSpec, ImageJob, ImageResult
from gallery_builder.resize_plan import Resize, crop_box, output_size, resize_plan

# The encoders we write with, registered now: Image.save() of a format not yet registered
# (WebP, AVIF: Pillow's preinit() has JPEG and PNG only) first imports all of Pillow's ~40
# plugins (0.1 CPU-s in every worker).
from PIL import WebPImagePlugin  # noqa: F401  # isort: skip

with contextlib.suppress(ImportError):  # Pillow 11.3+
    from PIL import AvifImagePlugin  # noqa: F401

#: Bumped whenever the processing changes the bytes it writes: part of every cache key
#: (4: each size resized from the next larger one, gallery_builder.resize_plan; the encoder
#: options are the spec's, gallery_builder.encoder_settings).
PROCESSOR_VERSION = (
    f"4/pillow-{'.'.join(Image.__version__.split('.')[:2])}/cmyk-{cmyk.conversion_id()}"
)

EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "avif": "avif", "png": "png"}
CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "png": "image/png",
}
EXIF_ORIENTATION = 0x0112
EXIF_GPS_IFD = 0x8825
#: the most EXIF bytes an image we write carries: a JPEG's APP1 segment holds 64 KB at most
MAX_EXIF = 65_000
#: tags that describe how a TIFF stores its pixels (size, strips, bits per sample, …), which
#: a TIFF's EXIF holds too: wrong for the image we write, so never copied into it
TIFF_LAYOUT_TAGS = frozenset(
    {254, 255, 256, 257, 258, 259, 262, 263, 266, 273, 277, 278, 279, 280, 281, 284, 317, 320,
     322, 323, 324, 325, 338, 339, 340, 341, 513, 514, 34675}
)  # fmt: skip
_TRANSPOSED = (5, 6, 7, 8)  # orientations that swap width and height
#: the transpose that shows a picture stored with each EXIF orientation upright
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_PILLOW_FORMAT = {"jpeg": "JPEG", "webp": "WEBP", "avif": "AVIF", "png": "PNG"}
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    MemoryError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)


def format_available(fmt: str) -> bool:
    """Whether this Pillow can encode ``fmt`` ("webp", "avif", …)."""
    feature = {"webp": "webp", "avif": "avif", "jpeg": "jpg", "png": "zlib"}[fmt]
    return bool(features.check(feature))


# --- Geometry (pure; the sizes and crops are gallery_builder.resize_plan's) -------------------


def decode_size(specs: list[DerivativeSpec], width: int, height: int) -> tuple[int, int]:
    """The smallest decoded size (as displayed) from which every spec can be made."""
    need_w = need_h = 1
    for spec in specs:
        out_w = output_size(spec, width, height)[0]
        left, _, right, _ = crop_box(spec, width, height)
        scale = out_w / (right - left)
        need_w = max(need_w, round(width * scale))
        need_h = max(need_h, round(height * scale))
    return min(need_w, width), min(need_h, height)


def draft_scale(fmt: str, specs: list[DerivativeSpec], width: int, height: int) -> int:
    """The DCT scale (1, 2, 4 or 8) at which a JPEG is decoded to make ``specs``.

    All of a picture's derivatives come from one decode, so this scale shapes each one's bytes
    and belongs in each one's cache key. Always 1 for other formats.
    """
    if fmt not in ("JPEG", "MPO") or not specs:  # MPO: the JPEGs of many phones and cameras
        return 1
    need_w, need_h = decode_size(specs, width, height)
    fits = min(width // need_w, height // need_h)
    return next(s for s in (8, 4, 2, 1) if fits >= s)


# --- The worker ------------------------------------------------------------------------------


def process_image(job: ImageJob) -> ImageResult:
    """Decode ``job.source_path`` once and write each target derivative.

    Returns the derivatives written; or an ``error`` (a reason for the user) when the picture
    cannot be decoded; or a ``write_error`` when the output cannot be written (a full disk, a
    file where a folder should be), which is no fault of the picture; or a ``step_error`` when
    a plugin's image step failed (nor is that). Either way nothing is left behind.
    """
    return run_worker(job, _process, _DECODE_ERRORS, describe_decode_error)


def run_worker(
    job: ImageJob,
    process: Callable[[ImageJob, list[Path]], list[Derivative]],
    decode_errors: tuple[type[BaseException], ...],
    describe: Callable[[BaseException], str],
) -> ImageResult:
    """Run a processor's ``process(job, written)`` as every worker must: the derivatives it
    made; or, removing what it wrote, a ``write_error``, a ``step_error``, or (for one of
    ``decode_errors``) an ``error`` worded by ``describe``. Pillow's decompression-bomb
    warning counts as an error (Pillow warns between 1x and 2x its pixel limit: both skip)."""
    written: list[Path] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            derivatives = process(job, written)
        return ImageResult(source_path=job.source_path, derivatives=tuple(derivatives))
    except OutputError as exc:
        _remove(written)
        return ImageResult(source_path=job.source_path, write_error=str(exc))
    except StepFailed as exc:
        _remove(written)
        return ImageResult(source_path=job.source_path, step_error=exc.failure)
    except decode_errors as exc:
        _remove(written)
        return ImageResult(source_path=job.source_path, error=describe(exc))


class OutputError(Exception):
    """Writing an output file failed; the message names the file and the reason."""


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def describe_decode_error(exc: BaseException) -> str:
    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        return f"too many pixels, refused as a possible decompression bomb ({exc})"
    if isinstance(exc, Image.UnidentifiedImageError):
        return "not a picture Pillow can read"
    if isinstance(exc, MemoryError):
        return "too large to decode in memory"
    text = str(exc) or type(exc).__name__
    return f"corrupt or truncated picture data ({text})"


def read_exif(im: Image.Image) -> Image.Exif:
    """The EXIF of an opened picture, without decoding its pixels; empty when it is unreadable
    (the pixels may well be fine). For a PNG, the EXIF before the pixels, where the PNG
    specification puts it: Pillow's PngImageFile.getexif() decodes every pixel to look after."""
    try:
        exif = Image.Image.getexif(im) if im.format == "PNG" else im.getexif()
        if ExifTags.IFD.Exif in exif:
            exif.get_ifd(ExifTags.IFD.Exif)  # parsed now, so a damaged sub-IFD fails here
        return exif
    except Exception:  # damaged EXIF fails in many ways (SyntaxError, struct.error, …)
        return Image.Exif()


def _process(job: ImageJob, written: list[Path]) -> list[Derivative]:
    steps = load_steps(job.steps)  # before decoding: a step that cannot be imported costs none
    with Image.open(job.source_path) as im:
        exif = read_exif(im)
        orientation = orientation_of(exif)
        stored_w, stored_h = im.size
        shown_w, shown_h = (
            (stored_h, stored_w) if orientation in _TRANSPOSED else (stored_w, stored_h)
        )
        scale = job.draft_scale  # chosen by the main process: it is part of each file's name
        # asking for size // scale makes Pillow's JPEG decoder pick exactly this DCT scale
        if scale > 1 and im.format in ("JPEG", "MPO"):
            im.draft(im.mode, (stored_w // scale, stored_h // scale))
        im.load()
        icc = im.info.get("icc_profile")
        pixels = cmyk.uninvert(im)
        # not ImageOps.exif_transpose: it re-encodes the EXIF, which fails on damaged EXIF
        upright = pixels.transpose(_UPRIGHT[orientation]) if orientation in _UPRIGHT else pixels
        base, icc = _normalise_mode(upright, icc)
        exif_bytes = _exif_bytes(exif, strip_gps=True)
        exif_with_gps = _exif_bytes(exif, strip_gps=False)
        specs = job.specs or tuple(spec for spec, _ in job.targets)
        targets = [spec for spec, _ in job.targets]
        plan = resize_plan(specs, targets, (shown_w, shown_h), base.size)
        out = []
        for resize, image in zip(plan, resized(base, plan), strict=True):
            for index in resize.targets:
                spec, relpath = job.targets[index]
                # a step may draw in place: on its own copy, never on a shared image
                shaped = apply_steps(image.copy(), spec, steps) if steps else image
                exif_out = None
                if spec.keep_exif:
                    exif_out = exif_bytes if spec.strip_gps else exif_with_gps
                data = encode(shaped, spec, icc=icc, exif=exif_out)
                target = Path(job.output_root, relpath)
                try:
                    write_atomic(target, data)
                except OSError as exc:
                    raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
                written.append(target)
                out.append(
                    Derivative(
                        key=spec.key,
                        path=relpath,
                        width=shaped.width,
                        height=shaped.height,
                        md5=hashlib.md5(data).hexdigest(),
                        size=len(data),
                    )
                )
        return out


def resized(decoded: Image.Image, plan: tuple[Resize, ...]) -> Iterator[Image.Image]:
    """The image of each step of ``plan``, made from ``decoded`` (the upright picture) or
    from an earlier step's image, in order; each image is kept only while a later step
    still starts from it."""
    last_use = {r.source: i for i, r in enumerate(plan) if r.source is not None}
    images: dict[int, Image.Image] = {}
    for index, step in enumerate(plan):
        source = decoded if step.source is None else images[step.source]
        image = (
            source.resize(step.size, Image.Resampling.LANCZOS, box=step.box, reducing_gap=3.0)
            if step.resample
            else source
        )
        if index in last_use:
            images[index] = image
        yield image
        for done in [k for k in images if last_use[k] <= index]:
            del images[done]


def orientation_of(exif: Image.Exif) -> int:
    """The EXIF orientation (1-8; 1 when absent or malformed, e.g. stored as text)."""
    try:
        value = int(exif.get(EXIF_ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1


def _normalise_mode(im: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """RGB or RGBA, 8 bits per channel, whatever the source's mode."""
    mode = im.mode
    if mode == "CMYK":
        # through its profile, or a standard one: a plain convert("RGB") is far too dark
        return cmyk.cmyk_to_srgb(im, icc), None  # now sRGB, which browsers assume
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L").convert("RGB"), icc
    if mode == "F":
        return im.convert("L").convert("RGB"), icc
    if mode == "PA" or (mode in ("P", "L", "RGB") and "transparency" in im.info):
        im = im.convert("RGBA")  # a transparent palette entry or colour key becomes alpha
    elif mode in ("LA", "La", "RGBa"):
        im = im.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        im = im.convert("RGB")
    if im.mode == "RGBA" and im.getextrema()[3][0] == 255:
        im = im.convert("RGB")  # an alpha channel that hides nothing only costs bytes
    return im, icc


def _exif_bytes(exif: Image.Exif, *, strip_gps: bool) -> bytes | None:
    """The EXIF to publish, or None when there is none or Pillow cannot write it back."""
    try:
        exif = _copy(exif)
        exif.pop(EXIF_ORIENTATION, None)  # the pixels are already upright
        for tag in TIFF_LAYOUT_TAGS.intersection(exif):
            del exif[tag]
        if strip_gps:
            exif.pop(EXIF_GPS_IFD, None)
        data = exif.tobytes() if len(exif) else None
        if data and len(data) > MAX_EXIF:  # a TIFF's may be longer than any image can carry
            for tag in [t for t, v in exif.items() if isinstance(v, str | bytes) and len(v) > 256]:
                del exif[tag]  # a huge description or the like: not worth the picture
            data = exif.tobytes() if len(exif) else None
        return data if data and len(data) <= MAX_EXIF else None
    except Exception:  # damaged EXIF fails in many ways (struct.error, TypeError, …): drop it
        return None


def _copy(exif: Image.Exif) -> Image.Exif:
    copy = Image.Exif()
    copy.load(exif.tobytes())
    return copy


def encode(
    image: Image.Image, spec: DerivativeSpec, *, icc: bytes | None, exif: bytes | None
) -> bytes:
    """The bytes of ``image`` encoded as ``spec.format`` with ``spec.options`` (empty: the
    "balanced" effort's); reproducible for the same input."""
    buffer = io.BytesIO()
    options: dict[str, object] = {}
    if icc:
        options["icc_profile"] = icc
    if exif:
        options["exif"] = exif
    fmt = spec.format
    if fmt == "jpeg" and image.mode == "RGBA":
        image = _flatten(image)
    if fmt != "png":  # lossless: no quality
        options["quality"] = spec.quality
    options.update(effective_options(fmt, spec.options))  # the names are Pillow's own
    image.save(buffer, _PILLOW_FORMAT[fmt], **options)
    return buffer.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    background = Image.new("RGB", image.size, (255, 255, 255))
    background.paste(image, mask=image.getchannel("A"))
    return background
