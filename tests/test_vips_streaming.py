"""The vips worker leaves a plain JPEG's decode streaming when only one resize reads it (libvips
then decodes and resizes in one pass, without the whole picture in memory), and holds it in
memory when more than one does: a sequential load cannot be read twice."""

from __future__ import annotations

from pathlib import Path

import pictures
import pytest
import pyvips
from gallery_builder.plugins.vips import runtime
from gallery_builder.plugins.vips.decode import decode, readable
from gallery_builder.plugins.vips.worker import decode_readers, process_image
from PIL import Image

from gallery_builder import imaging
from gallery_builder.model import DerivativeSpec, ImageJob
from gallery_builder.resize_plan import resize_plan

VIPS_WORKER = "gallery_builder.plugins.vips.worker:process_image"


@pytest.fixture(autouse=True)
def _vips_ready() -> None:
    runtime.prepare(1)


def resize_spec(edge: int) -> DerivativeSpec:
    return DerivativeSpec(str(edge), "resize", (edge, edge), "jpeg", 85)


def test_a_streamed_decode_is_read_once_and_held_in_memory_for_more_readers(
    tmp_path: Path,
) -> None:
    photo = pictures.jpeg(tmp_path / "photo.jpg", (800, 600))
    streamed = decode(str(photo), 1)
    assert streamed.streamed
    streamed.image.resize(0.5).copy_memory()
    with pytest.raises(pyvips.Error, match="out of order read"):
        streamed.image.resize(0.25).copy_memory()  # plain libvips: the file read twice

    once = decode(str(photo), 1)
    assert readable(once, 1) is once.image  # one reader: the pipeline itself
    held = readable(decode(str(photo), 1), 2)
    assert held.resize(0.5).copy_memory() and held.resize(0.25).copy_memory()


def test_two_sizes_resized_from_the_decode_are_both_made(tmp_path: Path) -> None:
    photo = pictures.jpeg(tmp_path / "photo.jpg", (1000, 750))
    specs = (resize_spec(900), resize_spec(700))  # 900 is not 1.5x 700: both from the decode
    plan = resize_plan(specs, specs, (1000, 750), (1000, 750))
    assert [step.source for step in plan] == [None, None]
    assert decode_readers(plan) == 2
    out = tmp_path / "site"
    targets = tuple((spec, f"p.{spec.variant}.jpg") for spec in specs)
    job = ImageJob(str(photo), str(out), targets, processor=VIPS_WORKER, specs=specs)

    result = process_image(job)

    assert result.error is None, result.error
    assert {(d.width, d.height) for d in result.derivatives} == {(900, 675), (700, 525)}
    for derivative in result.derivatives:
        with Image.open(out / derivative.path) as im:
            assert im.size == (derivative.width, derivative.height)


def test_a_picture_encoded_at_its_own_size_reads_its_decode_once_per_format(
    tmp_path: Path,
) -> None:
    photo = pictures.jpeg(tmp_path / "photo.jpg", (600, 450))
    specs = tuple(
        DerivativeSpec("2048", "resize", (2048, 2048), fmt, 85) for fmt in ("jpeg", "webp")
    )
    plan = resize_plan(specs, specs, (600, 450), (600, 450))
    assert not plan[0].resample and decode_readers(plan) > 1
    out = tmp_path / "site"
    targets = tuple((spec, f"p.{spec.format}") for spec in specs)
    job = ImageJob(str(photo), str(out), targets, processor=VIPS_WORKER, specs=specs)

    result = process_image(job)

    assert result.error is None, result.error
    assert {imaging.output_size(s, 600, 450) for s in specs} == {(600, 450)}
    assert {(d.width, d.height) for d in result.derivatives} == {(600, 450)}
    assert len(result.derivatives) == 2
