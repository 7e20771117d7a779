"""The libvips image processor ("vips"): pictures' derivatives made with libvips through
pyvips, chosen with ``[images] processor = "vips"`` or ``gallery build --processor vips``
(docs/processors.md). Installed with ``pip install 'gallery-builder[vips]'``: pyvips and the
pyvips-binary wheel, which bundles libvips (no system package needed).

This module is imported by every build (it is a plugin): it imports pyvips only when the
processor is probed, in the main process, or run, in a worker
(:mod:`gallery_builder.plugins.vips.worker`).
"""

from __future__ import annotations

import functools
import os

from PIL import Image

from gallery_builder import cmyk, hookimpl
from gallery_builder.errors import ProcessorUnavailable
from gallery_builder.model import ImageProcessor, ProcessorInfo

#: this plugin's own processing: bump it whenever the bytes it writes may change
CODE_VERSION = "2"
WORKER = "gallery_builder.plugins.vips.worker:process_image"
INSTALL = "pyvips is not installed: pip install 'gallery-builder[vips]'"
#: pyvips is there but the libvips library it loads is not (or is broken): {cause}
UNLOADABLE = (
    "libvips could not be loaded ({cause}): pip install 'gallery-builder[vips]', which "
    "brings pyvips-binary, a wheel with libvips built in"
)
#: glibc's arena limit for the workers (plugins/vips/runtime.py says why)
ARENA_VARIABLE, ARENAS = "MALLOC_ARENA_MAX", "2"


@functools.cache
def probe() -> ProcessorInfo:
    """libvips' version and the formats it can write here; raises ProcessorUnavailable when
    pyvips (or the libvips it loads) is missing.

    Sets ``MALLOC_ARENA_MAX=2`` in this (the main) process's environment, unless it is set,
    so that the workers started after it inherit it (each worker also applies it to itself
    when it imports the worker module, for workers started before or elsewhere)."""
    try:
        import pyvips
    except ImportError:
        raise ProcessorUnavailable(INSTALL) from None
    except OSError as exc:  # pyvips found no libvips to load (cffi's dlopen)
        raise ProcessorUnavailable(UNLOADABLE.format(cause=exc)) from None
    os.environ.setdefault(ARENA_VARIABLE, ARENAS)
    return ProcessorInfo(version=version(pyvips), formats=frozenset(_formats(pyvips)))


def version(pyvips) -> str:
    """What may change the bytes: this code, libvips, and Pillow (CMYK conversions, formats
    libvips cannot read and image steps go through it) with its CMYK profile."""
    libvips = ".".join(str(pyvips.version(i)) for i in range(3))
    pillow = ".".join(Image.__version__.split(".")[:2])
    return f"{CODE_VERSION}/libvips-{libvips}/pillow-{pillow}/cmyk-{cmyk.conversion_id()}"


def _formats(pyvips) -> list[str]:
    """The formats this libvips can encode: each tried on a tiny image."""
    sample = pyvips.Image.black(8, 8, bands=3)
    savers = {
        "jpeg": lambda: sample.jpegsave_buffer(),
        "webp": lambda: sample.webpsave_buffer(),
        "avif": lambda: sample.heifsave_buffer(compression="av1", effort=0),
        "png": lambda: sample.pngsave_buffer(),
    }
    found = []
    for fmt, save in savers.items():
        try:
            save()
        except pyvips.Error:
            continue
        found.append(fmt)
    return found


VIPS = ImageProcessor(
    name="vips",
    worker=WORKER,
    probe=probe,
    description="libvips through pyvips: shrink-on-load, one decode for every size, its own "
    "threads (pip install 'gallery-builder[vips]')",
)


@hookimpl
def gallery_image_processors() -> list[ImageProcessor]:
    return [VIPS]
