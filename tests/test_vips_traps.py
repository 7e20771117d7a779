"""The known traps of libvips, one test each: what plain pyvips does (shown, so the test fails
if a libvips release changes it and the workaround should be revisited) and what the vips
processor (gallery_builder.plugins.vips) does instead, which is what Pillow's worker does.

Real pictures (tests/pictures.py), real libvips (pyvips-binary), real worker processes.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pictures
import pytest
import pyvips
from gallery_builder.plugins.executor import gallery_executor
from gallery_builder.plugins.images import gallery_derivative_specs
from gallery_builder.plugins.metadata import read_metadata
from gallery_builder.plugins.vips import ARENA_VARIABLE, ARENAS, probe, runtime
from gallery_builder.plugins.vips.decode import FAIL_ON, check_pixels
from gallery_builder.plugins.vips.encode import saver_arguments
from gallery_builder.plugins.vips.resize import resize
from PIL import ExifTags, Image

from gallery_builder import imaging
from gallery_builder.config import load_config
from gallery_builder.derivatives import derivative_path
from gallery_builder.model import DerivativeSpec, ImageJob, ImageResult, Picture, Source
from gallery_builder.processors import choose_processor, processor_key, run_job
from gallery_builder.testing import plugin_manager

GPS_IFD = ExifTags.IFD.GPSInfo
EXIF_IFD = ExifTags.IFD.Exif
VIPS_WORKER = "gallery_builder.plugins.vips.worker:process_image"
SMALL = '[images]\nsizes = [160, 640]\nthumbnail = [96, 72]\nformats = ["jpeg", "webp", "png"]\n'


@pytest.fixture(autouse=True)
def _vips_ready() -> None:
    runtime.prepare(1)  # as in a worker: no operation cache, one thread


def run(source: Path, picture: Path, out: Path, processor: str, text: str = SMALL) -> ImageResult:
    """``picture`` made by ``processor`` into ``out``, as a build would (the same job)."""
    (source / "gallery.toml").write_text(
        text.replace("[images]\n", f'[images]\nprocessor = "{processor}"\n', 1), encoding="utf-8"
    )
    config = load_config(source)
    stat = picture.stat()
    src = Source(str(picture), picture.name, stat.st_size, stat.st_mtime_ns)
    metadata = read_metadata(src)
    specs = gallery_derivative_specs(source=src, metadata=metadata, config=config)
    chosen, info = choose_processor(plugin_manager(), config)
    scale = imaging.draft_scale(metadata.format, specs, metadata.width, metadata.height)
    slug = Picture(src, "0" * 32, metadata, slug=picture.stem, album_path="")
    key = processor_key(chosen, info)
    targets = tuple((s, derivative_path(slug, s, scale, "", key)) for s in specs)
    job = ImageJob(str(picture), str(out), targets, draft_scale=scale, processor=chosen.worker)
    return run_job(job)


def made(result: ImageResult, out: Path) -> dict[str, Path]:
    assert result.error is None, result.error
    return {d.key: out / d.path for d in result.derivatives}


def pixels(path: Path, mode: str = "RGB") -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert(mode), dtype=np.float64)


# --- Truncated JPEGs ----------------------------------------------------------------------------


def test_a_truncated_jpeg_is_refused_though_libvips_accepts_it_by_default(
    source: Path, out: Path
) -> None:
    bad = pictures.truncated_jpeg(source / "cut.jpg")
    pyvips.Image.new_from_file(str(bad)).copy_memory()  # plain libvips: grey rows, no error
    with pytest.raises(pyvips.Error, match="premature end"):
        pyvips.Image.new_from_file(str(bad), fail_on=FAIL_ON).copy_memory()

    result = run(source, bad, out, "vips")

    assert result.derivatives == ()
    assert result.error.startswith("corrupt or truncated picture data (")
    assert not out.exists() or not any(out.rglob("*"))


# --- The decompression-bomb limit ---------------------------------------------------------------


@pytest.mark.parametrize("side", [20000, 15000], ids=["over-2x", "between-1x-and-2x"])
def test_pillows_decompression_bomb_limit_applies_though_libvips_has_none(
    source: Path, out: Path, side: int
) -> None:
    bomb = pictures.bomb_png(source / "bomb.png", side, side)
    header = pyvips.Image.new_from_file(str(bomb))  # plain libvips: opens it, no limit
    assert header.width * header.height > Image.MAX_IMAGE_PIXELS

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with pytest.raises((Image.DecompressionBombError, Image.DecompressionBombWarning)):
            check_pixels(header.width, header.height)  # before any pixel is decoded
    # (a build's metadata reading refuses it first: here the worker is given it anyway)
    spec = DerivativeSpec("160", "resize", (160, 160), "png", 0)
    job = ImageJob(str(bomb), str(out), ((spec, "bomb.160.png"),))
    by_pillow = run_job(job)
    by_vips = run_job(replace(job, processor=VIPS_WORKER))

    assert "possible decompression bomb" in by_vips.error
    assert by_vips.error == by_pillow.error  # word for word


def test_the_bomb_limit_follows_pillows_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    check_pixels(40, 25)  # at the limit: fine
    with pytest.warns(Image.DecompressionBombWarning, match="exceeds limit of 1000 pixels"):
        check_pixels(41, 25)
    with pytest.raises(Image.DecompressionBombError, match="exceeds limit of 2000 pixels"):
        check_pixels(41, 50)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # no limit at all, as in Pillow
    check_pixels(100_000, 100_000)


# --- Alpha in JPEG ------------------------------------------------------------------------------


def test_alpha_is_flattened_on_white_in_jpeg_though_jpegsave_uses_black(
    source: Path, out: Path
) -> None:
    logo = pictures.palette_png_transparent(source / "logo.png", (160, 120))
    plain = pyvips.Image.new_from_file(str(logo)).jpegsave_buffer()
    clear = np.asarray(Image.open(io.BytesIO(plain)).convert("RGB"))[10:50, 90:150]
    assert clear.mean() < 10  # plain libvips: the transparent quarter is black

    files = made(run(source, logo, out, "vips"), out)

    for key in ("160.jpeg", "thumb.jpeg"):
        h, w = pixels(files[key]).shape[:2]
        clear = pixels(files[key])[h // 8 : h // 2 - h // 8, w // 2 + w // 8 : w - w // 8]
        assert clear.min() > 240, key  # white, as Pillow's worker makes it


# --- Orientation --------------------------------------------------------------------------------


def test_the_exif_orientation_is_applied_though_new_from_file_does_not(
    source: Path, out: Path
) -> None:
    photo = pictures.jpeg(source / "photo.jpg", (320, 240), orientation=6)
    loaded = pyvips.Image.new_from_file(str(photo))
    assert (loaded.width, loaded.height) == (240, 320)  # plain libvips: as stored, sideways

    files = made(run(source, photo, out, "vips"), out)

    for key, path in files.items():
        with Image.open(path) as im:
            assert im.size[0] > im.size[1], key
            assert im.getexif().get(ExifTags.Base.Orientation, 1) == 1, key
        assert pictures.displayed_red_corner(path) == "top-left", key


# --- Lazy images --------------------------------------------------------------------------------


def test_each_resized_buffer_is_in_memory_as_a_lazy_one_cannot_be_saved_twice(
    tmp_path: Path,
) -> None:
    photo = pictures.jpeg(tmp_path / "photo.jpg", (640, 480))
    lazy = pyvips.Image.new_from_file(str(photo), access="sequential").resize(0.5)
    lazy.jpegsave_buffer()
    with pytest.raises(pyvips.Error, match="out of order read"):
        lazy.webpsave_buffer()  # plain libvips: the file would have to be read again

    loaded = pyvips.Image.new_from_file(str(photo), access="sequential")
    half = resize(loaded, (320, 240), (0.0, 0.0, 640.0, 480.0))
    assert half.jpegsave_buffer() and half.webpsave_buffer()  # in memory: both encoders


# --- Geometry -----------------------------------------------------------------------------------


RESIZE_640 = DerivativeSpec("640", "resize", (640, 640), "png", 0)
THUMB = DerivativeSpec("thumb", "thumbnail", (400, 300), "png", 0)


@pytest.mark.parametrize(
    ("spec", "size", "thumbnail_gives", "ours"),
    [
        (RESIZE_640, (1280, 853), (640, 427), (640, 426)),  # a 3:2 photo, rounded up there
        (THUMB, (600, 100), (400, 300), (133, 100)),  # a small one: upscaled and cropped there
        (THUMB, (100, 80), (400, 300), (100, 75)),
    ],
    ids=["3:2-resize", "small-wide-thumbnail", "small-thumbnail"],
)
def test_sizes_and_crops_are_pillows_not_those_of_libvips_thumbnail(
    tmp_path: Path, spec: DerivativeSpec, size, thumbnail_gives, ours
) -> None:
    crop = "centre" if spec.kind == "thumbnail" else "none"
    got = pyvips.Image.black(*size).thumbnail_image(spec.box[0], height=spec.box[1], crop=crop)
    assert (got.width, got.height) == thumbnail_gives  # plain libvips maps sizes its own way
    assert imaging.output_size(spec, *size) == ours
    picture = pictures.png(tmp_path / "photos" / "p.png", size)
    out = tmp_path / "site"
    text = f"[images]\nsizes = [{spec.box[0]}]\nthumbnail = [400, 300]\nformats = ['png']\n"

    results = {p: run(tmp_path / "photos", picture, out / p, p, text) for p in ("pillow", "vips")}

    by_pillow, by_vips = (made(results[p], out / p) for p in ("pillow", "vips"))
    key = "thumb.png" if spec.kind == "thumbnail" else f"{spec.box[0]}.png"
    sizes = {p: {d.key: (d.width, d.height) for d in results[p].derivatives} for p in results}
    assert sizes["vips"] == sizes["pillow"]
    assert sizes["vips"][key] == ours
    difference = np.abs(pixels(by_vips[key]) - pixels(by_pillow[key]))
    assert difference.mean() < 2, difference.mean()  # the same centred crop, the same pixels


# --- EXIF ---------------------------------------------------------------------------------------


def test_gps_is_removed_field_by_field_and_the_rest_of_the_exif_is_kept(
    source: Path, out: Path
) -> None:
    photo = pictures.jpeg(
        source / "photo.jpg", (320, 240), gps=True, make="Canon", model="EOS R5",
        taken="2024:05:17 10:42:00",
    )  # fmt: skip
    loaded = pyvips.Image.new_from_file(str(photo))
    assert any(name.startswith("exif-ifd3-") for name in loaded.get_fields())
    stripped = Image.open(io.BytesIO(loaded.jpegsave_buffer(keep="icc"))).getexif()
    assert len(stripped) == 0  # plain libvips' way to drop GPS drops every tag

    files = made(run(source, photo, out, "vips"), out)

    for key in ("160.jpeg", "160.webp", "640.png"):
        with Image.open(files[key]) as im:
            exif = im.getexif()
        assert GPS_IFD not in exif and exif.get_ifd(GPS_IFD) == {}, key
        assert (exif.get(ExifTags.Base.Make), exif.get(ExifTags.Base.Model)) == (
            "Canon",
            "EOS R5",
        ), key
        original = exif.get_ifd(EXIF_IFD).get(ExifTags.Base.DateTimeOriginal)
        assert original == "2024:05:17 10:42:00", key


def test_the_exif_saved_has_no_orientation_though_libvips_always_adds_one(
    source: Path, out: Path
) -> None:
    photo = pictures.jpeg(source / "photo.jpg", (320, 240), orientation=6, make="Canon")
    loaded = pyvips.Image.new_from_file(str(photo)).copy()
    for name in ("orientation", "exif-ifd0-Orientation"):
        loaded.remove(name)
    plain = Image.open(io.BytesIO(loaded.jpegsave_buffer(keep="exif"))).getexif()
    assert plain.get(ExifTags.Base.Orientation) == 1  # added back by libexif, with others
    assert ExifTags.Base.XResolution in plain

    text = SMALL.replace('"jpeg", "webp", "png"', '"avif", "png"')
    files = made(run(source, photo, out, "vips", text), out)

    for key in ("160.avif", "160.png", "640.avif", "640.png"):
        with Image.open(files[key]) as im:
            exif = im.getexif()
        assert dict(exif) == {ExifTags.Base.Make: "Canon"}, key  # Pillow's: the Make alone


# --- Grey ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [False, True], ids=["L", "LA"])
def test_grey_and_grey_with_alpha_stay_grey(source: Path, out: Path, alpha: bool) -> None:
    grey = pictures.grey_png(source / "grey.png", (160, 120), alpha=alpha)
    loaded = pyvips.Image.new_from_file(str(grey))
    assert (loaded.bands, loaded.interpretation) == (2 if alpha else 1, "b-w")  # one grey band

    files = made(run(source, grey, out, "vips"), out)

    for key in ("160.png", "160.webp", "160.jpeg", "thumb.png"):
        rgba = pixels(files[key], "RGBA")
        spread = rgba[..., :3].max(axis=2) - rgba[..., :3].min(axis=2)
        assert spread.max() <= (0 if key.endswith(".png") else 3), key  # R = G = B
        reference = pixels(grey, "L") if key.startswith("160") else None
        if reference is not None and key.endswith(".png") and not alpha:
            assert np.array_equal(rgba[..., 0], reference), key  # the very same levels
        with Image.open(files[key]) as im:
            assert im.mode == ("RGBA" if alpha and not key.endswith(".jpeg") else "RGB"), key
        if alpha and not key.endswith(".jpeg"):
            assert abs(rgba[:, -20:, 3].mean() - 128) < 2, key  # the alpha kept


# --- Memory -------------------------------------------------------------------------------------


def test_probing_puts_malloc_arena_max_in_the_environment_workers_start_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # set in the main process by the probe (gallery_builder.plugins.vips.probe), before the
    # executor starts its workers: glibc reads it when a process starts
    monkeypatch.delenv(ARENA_VARIABLE, raising=False)
    probe.cache_clear()
    probe()
    assert os.environ[ARENA_VARIABLE] == ARENAS
    context = multiprocessing.get_context("spawn")  # a fresh process, nothing imported
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        assert pool.submit(os.getenv, ARENA_VARIABLE).result(timeout=60) == ARENAS


def arena_setting_after(job: ImageJob) -> tuple[str | None, str | None]:
    """Run in a worker: the job's error, and MALLOC_ARENA_MAX in the worker once it ran it."""
    result = run_job(job)
    return os.environ.get(ARENA_VARIABLE), result.error


def test_a_build_worker_has_malloc_arena_max_once_it_runs_a_vips_job(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a worker started before the probe (the forkserver may be older) or elsewhere sets it
    # itself when it imports the worker module, and applies it with mallopt()
    monkeypatch.delenv(ARENA_VARIABLE, raising=False)
    photo = pictures.jpeg(source / "photo.jpg")
    (source / "gallery.toml").write_text('[images]\nprocessor = "vips"\n', encoding="utf-8")
    config = load_config(source)
    chosen, _ = choose_processor(plugin_manager(), config)
    job = ImageJob(str(photo), str(tmp_path), (), processor=chosen.worker)
    executor = gallery_executor(config=config, jobs=2)  # the built-in process pool
    try:
        seen = [executor.submit(arena_setting_after, job).result(timeout=120) for _ in range(2)]
    finally:
        executor.shutdown(wait=True)
    assert seen == [(ARENAS, None), (ARENAS, None)]


# --- The JPEG encoder ---------------------------------------------------------------------------


def test_the_bundled_jpeg_encoder_is_mozjpeg_with_its_extras_left_off(tmp_path: Path) -> None:
    photo = pictures.jpeg(tmp_path / "photo.jpg", (640, 480))
    image = pyvips.Image.new_from_file(str(photo))
    plain = image.jpegsave_buffer(Q=80)
    trellis = image.jpegsave_buffer(Q=80, trellis_quant=True, optimize_scans=True)
    assert trellis != plain  # only mozjpeg has trellis quantisation (libjpeg-turbo ignores it)

    _, arguments = saver_arguments(DerivativeSpec("640", "resize", (640, 640), "jpeg", 80))
    # (the "balanced" effort's JPEG: optimised Huffman tables, baseline)

    # our JPEGs: mozjpeg run as libjpeg-turbo (Pillow's) is, with the standard tables, so the
    # same quality means about the same file (tests/test_processor_quality.py measures it)
    assert not {"trellis_quant", "optimize_scans", "overshoot_deringing", "quant_table"} & set(
        arguments
    )
    assert arguments["Q"] == 80
    assert arguments["optimize_coding"] is True and arguments["interlace"] is False


# --- Found here: libvips' operation cache ---------------------------------------------------------


def test_a_picture_rewritten_in_place_is_read_again_not_from_libvips_cache(
    source: Path, out: Path
) -> None:
    photo = source / "photo.jpg"
    Image.new("RGB", (320, 240), (255, 0, 0)).save(photo, quality=95)
    # plain libvips (its default cache): a load is cached by the file's name and options
    pyvips.cache_set_max(100)
    pyvips.cache_set_max_files(100)
    pyvips.cache_set_max_mem(100 * 1024 * 1024)
    try:
        assert pyvips.Image.new_from_file(str(photo)).avg() > 80
        Image.new("RGB", (320, 240), (0, 0, 255)).save(photo, quality=95)
        cached = pyvips.Image.new_from_file(str(photo))
        assert cached.extract_band(0).avg() > 200  # still the red picture
    finally:
        pyvips.cache_set_max(0)
        pyvips.cache_set_max_files(0)
        pyvips.cache_set_max_mem(0)

    files = made(run(source, photo, out, "vips"), out)  # the worker turns the cache off

    blue = pixels(files["160.png"])
    assert blue[..., 2].mean() > 240 and blue[..., 0].mean() < 15
