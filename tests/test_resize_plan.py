"""The resize plan: each geometry resized once, each size from the next larger one where that
has enough pixels, the same plan whatever is missing; and the quality of what it makes,
against the same sizes resized directly from the full decode."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pictures
import pytest
from conftest import read_manifest, site_files
from image_quality import psnr, ssim
from PIL import Image

from gallery_builder import imaging
from gallery_builder.model import DerivativeSpec, ImageJob
from gallery_builder.resize_plan import (
    CASCADE_MIN_RATIO,
    crop_box,
    geometry,
    output_size,
    resize_plan,
    source_chain,
)
from gallery_builder.testing import build_gallery


def spec(variant: str, fmt: str, kind: str = "resize", box: tuple[int, int] | None = None):
    size = (int(variant), int(variant)) if box is None else box
    return DerivativeSpec(variant, kind, size, fmt, 0 if fmt == "png" else 80)


def default_specs(formats: tuple[str, ...] = ("webp", "jpeg")) -> list[DerivativeSpec]:
    """What the images plugin asks for with the default settings."""
    found = [spec("thumb", fmt, "thumbnail", (400, 300)) for fmt in formats]
    for size in ("640", "1280", "2048"):
        found += [spec(size, fmt) for fmt in formats]
    return found


SHOWN = (6000, 4000)  # a 24 MP photo
DECODED = (3000, 2000)  # decoded at 1/2 DCT scale: enough for the 2048 px image


def test_the_default_job_resizes_each_geometry_once_and_encodes_every_format_from_it() -> None:
    specs = default_specs()
    plan = resize_plan(specs, specs, SHOWN, DECODED)
    assert [step.size for step in plan] == [(2048, 1365), (1280, 853), (640, 427), (400, 300)]
    assert len(plan) == len({geometry(s, *SHOWN) for s in specs})
    for step in plan:
        assert sorted(specs[i].format for i in step.targets) == ["jpeg", "webp"]
        assert {specs[i].box for i in step.targets} == {specs[step.targets[0]].box}
    assert sorted(i for step in plan for i in step.targets) == list(range(len(specs)))


def test_each_size_starts_from_the_smallest_larger_image_with_enough_pixels() -> None:
    specs = default_specs()
    plan = resize_plan(specs, specs, SHOWN, DECODED)
    sources = [None if s.source is None else plan[s.source].size[0] for s in plan]
    # the thumbnail's crop of the 640 px image is only 1.42x its width: from 1280
    assert sources == [None, 2048, 1280, 1280]
    assert plan[0].box == (0.0, 0.0, 3000.0, 2000.0)  # the decode's own pixels
    left, top, right, bottom = plan[3].box  # the thumbnail's centre crop, in the 1280's pixels
    assert top == 0.0 and bottom == 853.0
    assert right - left == pytest.approx(1280 * 4000 * 4 / 3 / 6000 / 1, rel=1e-3)
    assert (right + left) / 2 == pytest.approx(640)
    for step in plan:
        if step.source is not None:
            left, top, right, bottom = step.box
            assert right - left >= CASCADE_MIN_RATIO * step.size[0]
            assert bottom - top >= CASCADE_MIN_RATIO * step.size[1]


def test_a_size_close_to_a_larger_one_is_made_from_the_decode() -> None:
    specs = [spec("2048", "jpeg"), spec("1900", "jpeg"), spec("1024", "jpeg")]
    plan = resize_plan(specs, specs, SHOWN, DECODED)
    # 1900 is only 1.08x below 2048: from the decode; 1024 from the smallest with enough, 1900
    assert [(s.size[0], s.source) for s in plan] == [(2048, None), (1900, None), (1024, 1)]


def test_what_is_missing_does_not_change_where_an_image_starts_from() -> None:
    specs = default_specs()
    missing = [s for s in specs if s.variant == "640"]
    plan = resize_plan(specs, missing, SHOWN, DECODED)
    # the 2048 and 1280 images are made (not encoded) so that the 640 starts where it always does
    assert [(s.size[0], s.source, len(s.targets)) for s in plan] == [
        (2048, None, 0),
        (1280, 0, 0),
        (640, 1, 2),
    ]
    full = resize_plan(specs, specs, SHOWN, DECODED)
    assert plan[2].box == full[2].box
    only_thumb = resize_plan(specs, [specs[0]], SHOWN, DECODED)
    assert [s.size[0] for s in only_thumb] == [2048, 1280, 400]


def test_an_image_at_the_decoded_size_is_the_decode_itself() -> None:
    specs = [
        spec("1280", "webp"),
        spec("640", "webp"),
        spec("thumb", "webp", "thumbnail", (400, 300)),
    ]
    plan = resize_plan(specs, specs, (1200, 900), (1200, 900))
    assert plan[0].size == (1200, 900) and not plan[0].resample
    assert all(step.resample for step in plan[1:])


def test_thumbnails_are_never_a_source() -> None:
    specs = [spec("thumb", "png", "thumbnail", (1600, 1200)), spec("400", "png")]
    plan = resize_plan(specs, specs, SHOWN, SHOWN)
    assert [(s.size, s.source) for s in plan] == [((1600, 1200), None), ((400, 267), None)]


# --- The images it makes ---------------------------------------------------------------------


def photo(path: Path, size: tuple[int, int]) -> Path:
    """A grainy, photo-like PNG: smooth gradients, hard-edged shapes and per-pixel noise (the
    hardest case for resizing twice: detail right up to the pixel)."""
    rng = np.random.default_rng(7)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], axis=-1)
    for _ in range(20):
        cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(w // 40, w // 6)
        base[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.integers(0, 256, 3)
    noisy = base + rng.normal(0, 12, base.shape)
    Image.fromarray(noisy.clip(0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[DerivativeSpec]]:
    """The PNG (lossless) derivatives of a 4200×2800 photo: the resize is all that differs."""
    folder = tmp_path_factory.mktemp("plan")
    source = photo(folder / "photo.png", (4200, 2800))
    specs = default_specs(("png",))
    targets = tuple((s, f"photo.{s.variant}.png") for s in specs)
    result = imaging.process_image(ImageJob(str(source), str(folder / "out"), targets))
    assert result.error is None and len(result.derivatives) == len(specs)
    return source, folder / "out", specs


@pytest.mark.parametrize("variant", ["1280", "640", "thumb"])
def test_a_cascaded_size_matches_the_same_size_resized_from_the_full_decode(
    made: tuple[Path, Path, list[DerivativeSpec]], variant: str
) -> None:
    source, out, specs = made
    [wanted] = [s for s in specs if s.variant == variant]
    with Image.open(source) as decoded:
        decoded.load()
        size, box = output_size(wanted, *decoded.size), crop_box(wanted, *decoded.size)
        direct = decoded.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    with Image.open(out / f"photo.{variant}.png") as cascaded:
        assert cascaded.size == direct.size
        # an invisible difference: far above what a visible one scores (a JPEG at quality 85
        # of this picture is near SSIM 0.95, PSNR 36 dB against it)
        assert ssim(cascaded, direct) >= 0.995
        assert psnr(cascaded, direct) >= 48.0


def test_the_measure_tells_a_visible_difference(
    made: tuple[Path, Path, list[DerivativeSpec]],
) -> None:
    """The thresholds above would fail a visibly softer resize (a bilinear one from a
    quarter-size image), so the test can fail."""
    out = made[1]
    with Image.open(out / "photo.1280.png") as good:
        soft = good.resize((320, 213), Image.Resampling.BILINEAR).resize(good.size)
        assert ssim(soft, good) < 0.995 or psnr(soft, good) < 48.0


def test_a_derivative_is_byte_identical_whether_made_alone_or_with_its_siblings(
    tmp_path: Path,
) -> None:
    source = pictures.jpeg(tmp_path / "photo.jpg", (2600, 1950))
    specs = default_specs()
    every = tuple((s, f"all/{s.key}") for s in specs)
    alone = tuple((s, f"one/{s.key}") for s in specs if s.variant == "640")
    for targets in (every, alone):
        job = ImageJob(str(source), str(tmp_path), targets, specs=tuple(specs))
        assert imaging.process_image(job).error is None
    for s in specs:
        if s.variant == "640":
            assert (tmp_path / "one" / s.key).read_bytes() == (
                tmp_path / "all" / s.key
            ).read_bytes()


def test_the_sizes_an_image_is_resized_through_are_its_source_chain() -> None:
    specs = default_specs()
    thumb, six_forty = specs[0], specs[2]
    assert source_chain(specs[-1], specs, SHOWN) == ()  # 2048: from the decode
    assert source_chain(six_forty, specs, SHOWN) == ((1280, 853), (2048, 1365))
    assert source_chain(thumb, specs, SHOWN) == ((1280, 853), (2048, 1365))
    with_1000 = [*specs, spec("1000", "webp")]
    assert source_chain(six_forty, with_1000, SHOWN) == ((1000, 667), (2048, 1365))


def test_a_new_size_renames_the_images_it_changes_the_source_of_and_rebuilds_stay_identical(
    source: Path, tmp_path: Path
) -> None:
    pictures.jpeg(source / "a.jpg", (3000, 2000))
    out, fresh = tmp_path / "site", tmp_path / "fresh"
    build_gallery(source, out)
    before = read_manifest(out)["images"][0]["derivatives"]
    (source / "gallery.toml").write_text("[images]\nsizes = [640, 1000, 1280, 2048]\n")
    build_gallery(source, out)
    after = read_manifest(out)["images"][0]["derivatives"]
    # the 640 and the thumbnail now start from the 1000 image (over 1.5x theirs): new bytes,
    # new names; the 1280 and 2048 start where they did
    for key in before:
        changed = key.startswith(("640.", "thumb"))  # "thumbnail": the fallback thumb
        assert (after[key] != before[key]) is changed, key
    build_gallery(source, fresh)  # from nothing: the same files as the incremental build
    assert site_files(fresh) == site_files(out)
