"""gallery-watermark: the hooks, run in the main process. The drawing itself is in
:mod:`gallery_watermark.steps`, which the core imports in the image workers."""

from gallery_builder import hookimpl
from gallery_builder.model import ImageStep
from gallery_builder.plugin_settings import Setting, integer, number, one_of, text
from gallery_watermark.steps import POSITIONS


@hookimpl
def gallery_settings():
    return {
        "text": Setting("", "the line drawn on the images; empty: no watermark", check=text()),
        "opacity": Setting(0.6, "0 (invisible) to 1 (opaque)", check=number(min=0, max=1)),
        "position": Setting("bottom-right", "where the text goes", check=one_of(*POSITIONS)),
        "min_width": Setting(600, "images narrower than this stay clean", check=integer(min=0)),
    }


@hookimpl
def gallery_image_steps(source, metadata, config):
    settings = config.plugins["watermark"]
    if not settings["text"]:
        return []
    return [
        ImageStep(
            function="gallery_watermark.steps:draw_text",
            params=dict(settings),  # plain values: they travel to the workers
            version="1",  # bump when draw_text draws differently: the images are remade
        )
    ]
