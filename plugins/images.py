"""Built-in derivative specs (a cropped thumbnail and one image per size, in every format),
and the built-in image processor, Pillow."""

from __future__ import annotations

from gallery_builder import hookimpl
from gallery_builder.config import Config
from gallery_builder.model import DerivativeSpec, ImageProcessor, Metadata, Source
from gallery_builder.processors import PILLOW


@hookimpl(trylast=True)
def gallery_image_processors() -> list[ImageProcessor]:
    return [PILLOW]


def web_sizes(sizes: tuple[int, ...], long_edge: int) -> list[int]:
    """The configured sizes worth making for a picture: those below its long edge, plus the
    first at or above it (made at the picture's own size: never upscaled)."""
    below = [s for s in sorted(sizes) if s < long_edge]
    above = [s for s in sorted(sizes) if s >= long_edge]
    return below + above[:1]


def _quality(images, fmt: str) -> int:
    """The encoder quality; 0 for PNG, which is lossless, so quality changes do not remake it."""
    return 0 if fmt == "png" else images.quality_for(fmt)


@hookimpl(trylast=True)
def gallery_derivative_specs(
    source: Source, metadata: Metadata, config: Config
) -> list[DerivativeSpec]:
    images = config.images
    specs = [
        DerivativeSpec(
            variant="thumb",
            kind="thumbnail",
            box=images.thumbnail,
            format=fmt,
            quality=_quality(images, fmt),
            keep_exif=False,
            strip_gps=True,
            options=images.encoder_options(fmt),
        )
        for fmt in images.formats
    ]
    for size in web_sizes(images.sizes, max(metadata.width, metadata.height)):
        specs.extend(
            DerivativeSpec(
                variant=str(size),
                kind="resize",
                box=(size, size),
                format=fmt,
                quality=_quality(images, fmt),
                keep_exif=True,
                strip_gps=images.strip_gps,
                options=images.encoder_options(fmt),
            )
            for fmt in images.formats
        )
    return specs
