"""The resize plan of one picture: which images to resize, from what, in which order. Pure.

A picture's derivatives share geometries: the default settings ask for every size in two
formats, and each (output size, crop box) needs one resize, whatever the number of formats
encoded from it. Each resize starts from the smallest image made before it that has enough
pixels (:data:`CASCADE_MIN_RATIO` times the output, on each axis): 1280 from 2048, the
thumbnail from 1280, so that only the largest size is resized from the full decode. Every
processor (Pillow's, libvips') follows the same plan, so they make the same sizes the same
way.

The plan is made from *all* of a picture's derivative specs, not only the missing ones: an
image is then always resized from the same source, and its bytes do not depend on which of
its siblings happen to exist already (its file name promises as much). A resize that no
missing derivative needs is left out, unless a needed one starts from it; it is then made
without being encoded (:attr:`Resize.targets` empty). Where an image starts from does depend
on its siblings' sizes, though: :func:`source_chain` says through which sizes it is made, for
its cache key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gallery_builder.model import DerivativeSpec

#: an image is made from an earlier, larger one only when that one has at least this many
#: times its pixels across (each axis). Measured on a grainy 24 MP photo (docs/building.md):
#: resized through an image only 1.08x larger, a size is within SSIM 0.997 / PSNR 51 dB of the
#: same size resized from the full decode; 1.5x keeps a margin (SSIM 0.998, PSNR 53 dB)
CASCADE_MIN_RATIO = 1.5

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class Geometry:
    """One distinct output of a picture: its size, and the region of the displayed picture
    it shows (the whole picture, or a thumbnail's centred crop)."""

    size: tuple[int, int]
    box: Box


@dataclass(frozen=True)
class Resize:
    """One step of a plan: make an image of ``size`` from the region ``box`` of its source.

    ``source`` is the index, in the plan, of the step whose image this one starts from, or
    ``None`` for the decoded picture; ``box`` is in that source's own pixels. ``resample`` is
    false when the output is the source as it is (same size, the whole of it). ``targets``
    are the indices of the targets encoded from this image (empty: it is made only as the
    source of smaller ones)."""

    geometry: Geometry
    source: int | None
    box: Box
    resample: bool
    targets: tuple[int, ...]

    @property
    def size(self) -> tuple[int, int]:
        return self.geometry.size


def output_size(spec: DerivativeSpec, width: int, height: int) -> tuple[int, int]:
    """The size of the image ``spec`` makes from a picture displayed at ``width``×``height``."""
    bw, bh = spec.box
    if spec.kind == "thumbnail":
        scale = max(bw / width, bh / height)
        if scale <= 1:
            return bw, bh
        shrink = min(width / bw, height / bh)  # source smaller than the box: crop, never upscale
        return max(1, round(bw * shrink)), max(1, round(bh * shrink))
    scale = min(bw / width, bh / height, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def crop_box(spec: DerivativeSpec, width: int, height: int) -> Box:
    """The region of the displayed picture that ``spec`` uses (centred for thumbnails)."""
    if spec.kind != "thumbnail":
        return (0.0, 0.0, float(width), float(height))
    out_w, out_h = output_size(spec, width, height)
    scale = min(1.0, max(out_w / width, out_h / height))
    crop_w, crop_h = min(out_w / scale, width), min(out_h / scale, height)
    # clamped: float rounding must not put an edge a hair outside the picture
    left, top = max(0.0, (width - crop_w) / 2), max(0.0, (height - crop_h) / 2)
    return (left, top, min(float(width), left + crop_w), min(float(height), top + crop_h))


def geometry(spec: DerivativeSpec, width: int, height: int) -> Geometry:
    """What ``spec`` makes of a picture displayed at ``width``×``height``."""
    return Geometry(output_size(spec, width, height), crop_box(spec, width, height))


def resize_plan(
    specs: Sequence[DerivativeSpec],
    targets: Sequence[DerivativeSpec],
    shown: tuple[int, int],
    decoded: tuple[int, int],
) -> tuple[Resize, ...]:
    """The resizes that make ``targets`` (a subset of ``specs``, all of the picture's
    derivative specs), largest first, each listed after the one it starts from.

    ``shown`` is the picture's size as displayed (after EXIF orientation), ``decoded`` the
    size of the decoded, upright image the processor holds (smaller than ``shown`` when the
    decoder shrank it on load: a JPEG's DCT scale)."""
    wanted = [geometry(spec, *shown) for spec in targets]
    ordered, sources = _sources([*specs, *targets], shown)
    needed: set[Geometry] = set()
    for shape in wanted:
        step: Geometry | None = shape
        while step is not None and step not in needed:
            needed.add(step)
            step = sources[step]
    plan: list[Resize] = []
    position: dict[Geometry, int] = {}
    for shape in (g for g in ordered if g in needed):
        source = sources[shape]
        source_size = decoded if source is None else source.size
        box = _scaled(shape.box, source_size, shown)
        resample = shape.size != source_size or box != (0.0, 0.0, *map(float, source_size))
        made_for = tuple(i for i, g in enumerate(wanted) if g == shape)
        position[shape] = len(plan)
        plan.append(
            Resize(shape, None if source is None else position[source], box, resample, made_for)
        )
    return tuple(plan)


def source_chain(
    spec: DerivativeSpec, specs: Sequence[DerivativeSpec], shown: tuple[int, int]
) -> tuple[tuple[int, int], ...]:
    """The sizes of the images ``spec``'s image is resized through, nearest first (empty:
    straight from the decode), when the picture's specs are ``specs``. It shapes the image's
    bytes, so it belongs in its cache key: adding a size can change where another starts."""
    _, sources = _sources([*specs, spec], shown)
    chain = []
    step = sources[geometry(spec, *shown)]
    while step is not None:
        chain.append(step.size)
        step = sources[step]
    return tuple(chain)


def _sources(
    specs: Sequence[DerivativeSpec], shown: tuple[int, int]
) -> tuple[list[Geometry], dict[Geometry, Geometry | None]]:
    """The distinct geometries of ``specs``, largest first, and the one each is made from
    (``None``: the decode)."""
    whole = (0.0, 0.0, float(shown[0]), float(shown[1]))
    distinct = {geometry(spec, *shown) for spec in specs}
    ordered = sorted(distinct, key=lambda g: (-g.size[0] * g.size[1], g.size, g.box))
    sources: dict[Geometry, Geometry | None] = {}
    for index, shape in enumerate(ordered):
        earlier = [g for g in ordered[:index] if g.box == whole and _enough(g, shape, shown)]
        sources[shape] = earlier[-1] if earlier else None  # the smallest that is enough
    return ordered, sources


def _enough(source: Geometry, shape: Geometry, shown: tuple[int, int]) -> bool:
    """Whether ``source`` (a whole-picture image) holds enough pixels to make ``shape``."""
    left, top, right, bottom = _scaled(shape.box, source.size, shown)
    return (right - left) >= CASCADE_MIN_RATIO * shape.size[0] and (
        bottom - top
    ) >= CASCADE_MIN_RATIO * shape.size[1]


def _scaled(box: Box, size: tuple[int, int], shown: tuple[int, int]) -> Box:
    """``box`` (in the displayed picture's pixels) in the pixels of a whole-picture image of
    ``size``, clamped to it."""
    sx, sy = size[0] / shown[0], size[1] / shown[1]
    left, top, right, bottom = box
    return (
        max(0.0, left * sx),
        max(0.0, top * sy),
        min(float(size[0]), right * sx),
        min(float(size[1]), bottom * sy),
    )
