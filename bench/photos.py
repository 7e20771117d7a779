"""Synthetic photos for the benchmarks: deterministic, photo-like JPEGs, cached in a work dir.

Gradients, low-frequency colour blotches, a dozen flat shapes and full-resolution grain, saved
as JPEG with EXIF ``Make``, ``Model`` and dates; rendered in worker processes with Pillow only.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from benchlib import log
from PIL import Image, ImageChops, ImageDraw

# Bump when the generator changes, so cached photos are regenerated.
GENERATOR_VERSION = 1

SOURCE_QUALITY = 90  # JPEG quality of the generated sources
PORTRAIT_EVERY = 5  # every 5th photo is portrait (height > width)


def cache_dir(work: Path, size: tuple[int, int], count: int, albums: int, seed: int) -> Path:
    """Where a photo set is kept between runs."""
    return work / f"photos-v{GENERATOR_VERSION}-{size[0]}x{size[1]}-n{count}-a{albums}-s{seed}"


@dataclass(frozen=True)
class PhotoSpec:
    relpath: str
    size: tuple[int, int]
    seed: int
    taken: str  # EXIF "YYYY:MM:DD HH:MM:SS"
    quality: int


_GRADIENTS: dict[tuple[int, int], tuple[Image.Image, Image.Image]] = {}


def _gradients(size: tuple[int, int]) -> tuple[Image.Image, Image.Image]:
    if size not in _GRADIENTS:
        _GRADIENTS[size] = (
            Image.linear_gradient("L").resize(size),
            Image.radial_gradient("L").resize(size),
        )
    return _GRADIENTS[size]


def render_photo(size: tuple[int, int], seed: int, grain: int = 12) -> Image.Image:
    """A deterministic, photo-ish RGB image: gradients, blotches, shapes and grain.

    Noise comes from ``random.Random(seed).randbytes`` (not ``Image.effect_noise``,
    which uses the C library's unseeded ``rand()`` and is slow at 6 MP).
    """
    rng = random.Random(seed)
    w, h = size
    lin, rad = _gradients(size)
    base = Image.merge("RGB", [lin, rad, lin.transpose(Image.Transpose.ROTATE_180)])
    if rng.random() < 0.5:
        base = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    lw, lh = max(2, w // 16), max(2, h // 16)
    blotches = Image.frombytes("RGB", (lw, lh), rng.randbytes(lw * lh * 3))
    blotches = blotches.resize(size, Image.Resampling.BILINEAR)
    img = Image.blend(base, blotches, 0.45 + 0.25 * rng.random())
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x0, y0 = rng.randrange(w), rng.randrange(h)
        x1 = x0 + rng.randrange(w // 20 + 1, w // 3 + 2)
        y1 = y0 + rng.randrange(h // 20 + 1, h // 3 + 2)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x0, y0, x1, y1), fill=colour)
    if grain:
        noise = Image.frombytes("L", size, rng.randbytes(w * h))
        noise = noise.point(lambda v: v * grain // 255)
        img = ImageChops.add(img, Image.merge("RGB", [noise, noise, noise]), 1, -(grain // 2))
    return img


def write_photo(spec: PhotoSpec, root: str, tmp_dir: str) -> int:
    """Render and save one photo atomically; returns its size in bytes."""
    dest = Path(root, spec.relpath)
    dest.parent.mkdir(parents=True, exist_ok=True)
    grain = 12 if min(spec.size) >= 256 else 0
    img = render_photo(spec.size, spec.seed, grain=grain)
    exif = Image.Exif()
    exif[0x010F] = "BenchCam"  # Make
    exif[0x0110] = "Synthetic One"  # Model
    exif[0x0132] = spec.taken  # DateTime
    sub = exif.get_ifd(0x8769)  # Exif IFD
    sub[0x9003] = spec.taken  # DateTimeOriginal
    sub[0x9004] = spec.taken  # DateTimeDigitized
    fd, tmp = tempfile.mkstemp(suffix=".part", dir=tmp_dir)
    os.close(fd)
    try:
        img.save(tmp, "JPEG", quality=spec.quality, exif=exif)
        os.replace(tmp, dest)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return dest.stat().st_size


def _write_photo_job(args: tuple[PhotoSpec, str, str]) -> int:
    return write_photo(*args)


def plan_photos(
    count: int, size: tuple[int, int], albums: int, seed: int, quality: int
) -> list[PhotoSpec]:
    width = max(4, len(str(count)))
    start = dt.datetime(2023, 6, 1, 8, 0, 0)
    albums = max(1, min(albums, count))
    specs = []
    for i in range(count):
        album = i * albums // count + 1
        w, h = size
        if i % PORTRAIT_EVERY == PORTRAIT_EVERY - 1:
            w, h = min(size), max(size)
        taken = start + dt.timedelta(days=album - 1, minutes=7 * i, seconds=i % 60)
        specs.append(
            PhotoSpec(
                relpath=f"album-{album:02d}/IMG_{i + 1:0{width}d}.jpg",
                size=(w, h),
                seed=seed * 1_000_003 + i,
                taken=taken.strftime("%Y:%m:%d %H:%M:%S"),
                quality=quality,
            )
        )
    return specs


@dataclass
class PhotoSet:
    root: Path  # cache root (holds src/, tmp/, pristine copies)
    src: Path
    specs: list[PhotoSpec]
    total_bytes: int = 0


def ensure_photos(cache_root: Path, specs: list[PhotoSpec], jobs: int, label: str) -> PhotoSet:
    src = cache_root / "src"
    tmp = cache_root / "tmp"
    src.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(exist_ok=True)
    restore_pristine(cache_root, src)
    missing = [s for s in specs if not (src / s.relpath).is_file()]
    if missing:
        log(f"generating {len(missing)} {label} into {src} ({jobs} processes) ...")
        t0 = time.perf_counter()
        work = [(s, str(src), str(tmp)) for s in missing]
        # in worker processes: in parallel, and the benchmark's own process stays small
        chunk = max(1, len(work) // (jobs * 8))
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(_write_photo_job, work, chunksize=chunk))
        log(f"generated in {time.perf_counter() - t0:.1f} s")
    else:
        log(f"reusing {len(specs)} cached {label} in {src}")
    total = sum((src / s.relpath).stat().st_size for s in specs)
    return PhotoSet(root=cache_root, src=src, specs=specs, total_bytes=total)


def restore_pristine(cache_root: Path, src: Path) -> None:
    """Put back a source photo that an interrupted run left modified."""
    for saved in cache_root.glob("pristine-*.jpg"):
        rel = saved.name.removeprefix("pristine-").replace("__", "/")
        log(f"restoring pristine {rel}")
        os.replace(saved, src / rel)


@contextlib.contextmanager
def mutable_photo(photos: PhotoSet, spec: PhotoSpec) -> Iterator[None]:
    """Keep a pristine copy of one source photo; restore it afterwards."""
    saved = photos.root / ("pristine-" + spec.relpath.replace("/", "__"))
    shutil.copy2(photos.src / spec.relpath, saved)
    try:
        yield
    finally:
        os.replace(saved, photos.src / spec.relpath)


def change_photo(photos: PhotoSet, spec: PhotoSpec, variant: int) -> None:
    """Re-save ``spec`` with different pixels (same name, size and EXIF date)."""
    changed = PhotoSpec(
        relpath=spec.relpath,
        size=spec.size,
        seed=spec.seed + 7_919 * (variant + 1),
        taken=spec.taken,
        quality=spec.quality,
    )
    # rendered in a child process, so that the benchmark's own process stays small
    with ProcessPoolExecutor(max_workers=1) as pool:
        pool.submit(write_photo, changed, str(photos.src), str(photos.root / "tmp")).result()
