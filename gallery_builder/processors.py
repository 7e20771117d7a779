"""Image processors: the plugins that make a picture's derivatives (Pillow, libvips, …).

:func:`choose_processor` runs in the main process, once per build: it picks the processor the
settings (or ``--processor``) name among those the ``gallery_image_processors`` hook offers,
and probes it. :func:`run_job` is what the executor is given for each picture: it calls the
chosen processor's worker function, imported by name in whichever process runs it.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from gallery_builder import imaging
from gallery_builder.errors import GalleryError, PluginError, SettingError
from gallery_builder.model import ImageJob, ImageProcessor, ImageResult, ProcessorInfo
from gallery_builder.toml_text import line_of, toml_string

if TYPE_CHECKING:  # the main process's side; a worker imports this module for run_job only,
    # and the settings and plugin machinery (jinja2, pluggy's entry points) cost it 0.2 s
    from gallery_builder.config import Config
    from gallery_builder.plugin_manager import GalleryPluginManager

#: the processor a build uses when nothing names one
DEFAULT_PROCESSOR = "pillow"


def pillow_info() -> ProcessorInfo:
    """Pillow always runs (it is a dependency); what it can encode depends on its build."""
    from gallery_builder.config import FORMATS

    formats = frozenset(fmt for fmt in FORMATS if imaging.format_available(fmt))
    return ProcessorInfo(version=imaging.PROCESSOR_VERSION, formats=formats)


#: the built-in processor, offered by the ``images`` plugin (and there even when it is blocked:
#: the default must always be there)
PILLOW = ImageProcessor(
    name=DEFAULT_PROCESSOR,
    worker="gallery_builder.imaging:process_image",
    probe=pillow_info,
    description="Pillow (the default): decode, resize and encode with Python's imaging library",
)


def run_job(job: ImageJob) -> ImageResult:
    """Make ``job``'s derivatives with the worker function ``job.processor`` names (imported
    once per process)."""
    return _worker(job.processor)(job)


@functools.cache
def _worker(name: str) -> Callable[[ImageJob], ImageResult]:
    module_name, _, qualified = name.partition(":")
    try:
        found: object = importlib.import_module(module_name)
        for part in qualified.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise GalleryError(
            f"the image processor's worker {name} cannot be imported here ({exc}); install "
            "the processor's package where the images are made"
        ) from None
    if not callable(found):
        raise GalleryError(f"the image processor's worker {name} is not a function")
    return found  # type: ignore[return-value]


def image_processors(pm: GalleryPluginManager) -> dict[str, tuple[ImageProcessor, str]]:
    """``{name: (processor, plugin name)}`` from every plugin; a name offered twice is an
    error naming both plugins."""
    from gallery_builder.plugin_answers import answers_by_plugin

    found: dict[str, tuple[ImageProcessor, str]] = {}
    for plugin, answer in answers_by_plugin(pm, "gallery_image_processors"):
        for processor in answer:
            if not isinstance(processor, ImageProcessor):
                raise GalleryError(
                    f"plugin '{plugin}' gives {processor!r} in gallery_image_processors, which "
                    f"is not a gallery_builder.model.ImageProcessor; block it with --block {plugin}"
                )
            if processor.name in found:
                raise GalleryError(
                    f"two plugins offer the image processor '{processor.name}': "
                    f"{found[processor.name][1]} and {plugin}; block one with --block NAME"
                )
            found[processor.name] = (processor, plugin)
    found.setdefault(DEFAULT_PROCESSOR, (PILLOW, "images"))
    return found


def choose_processor(
    pm: GalleryPluginManager, config: Config, name: str | None = None
) -> tuple[ImageProcessor, ProcessorInfo]:
    """The processor named by ``name`` (``--processor``) or else ``[images] processor``, and
    what its probe says it can do here.

    An unknown name is a :class:`SettingError` naming where it was set and the registered
    names; a processor that cannot run here raises its probe's
    :class:`~gallery_builder.errors.ProcessorUnavailable` (one line: why, and how to install
    what it needs)."""
    offered = image_processors(pm)
    chosen = name if name is not None else config.images.processor
    if chosen not in offered:
        registered = ", ".join(sorted(offered))
        given = (
            f"--processor {chosen or repr(chosen)}"  # an empty name shown as ''
            if name is not None
            else (f"{_where(config)} = {toml_string(chosen)}")
        )
        raise SettingError(f"{given}: no such image processor; allowed: {registered}")
    processor, plugin = offered[chosen]
    try:
        info = processor.probe()
    except GalleryError:  # ProcessorUnavailable: its one line says why and what to install
        raise
    except Exception as exc:  # the plugin's bug: name it, as a hook's failure is named
        subject = f"the probe of image processor '{chosen}'"
        distribution = pm.distribution_text(plugin)
        raise PluginError(
            plugin, "gallery_image_processors", exc, distribution=distribution, subject=subject
        ) from exc
    if not isinstance(info, ProcessorInfo):
        raise GalleryError(
            f"plugin '{plugin}': the probe of image processor '{chosen}' returned {info!r}, "
            f"not a ProcessorInfo; block it with --block {plugin}"
        )
    return processor, info


def processor_key(processor: ImageProcessor, info: ProcessorInfo) -> str:
    """What of the processor goes into each derivative's cache key: ``name/version``."""
    return f"{processor.name}/{info.version}"


def _where(config: Config) -> str:
    """``FILE:LINE: [images] processor``: where the settings name the processor."""
    if config.file is None:
        return "[images] processor"
    try:
        line = line_of(config.file.read_text(encoding="utf-8"), "images", "processor")
    except (OSError, UnicodeDecodeError):
        line = None
    where = f"{config.file}:{line}" if line else str(config.file)
    return f"{where}: [images] processor"


def check_formats(config: Config, processor: ImageProcessor, info: ProcessorInfo) -> None:
    """Every format of ``[images] formats`` is one the chosen processor can write here."""
    for fmt in config.images.formats:
        if fmt not in info.formats:
            raise GalleryError(
                f"the image processor '{processor.name}' cannot write {fmt} here (set by "
                "[images] formats); install a build of it with that format, choose another "
                "processor, or remove it from formats"
            )
