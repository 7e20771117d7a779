"""Choosing the image processor: ``[images] processor`` and ``--processor``, the errors for
a name nobody offers and for a processor that cannot run here, and the processor in every
derivative's cache key. The processors are real plugins registered through
gallery_builder.testing; their workers real functions imported by name."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pictures
import processor_functions
import pytest
from conftest import read_manifest

from gallery_builder import hookimpl, imaging
from gallery_builder.config import ConfigError, load_config
from gallery_builder.errors import GalleryError, ProcessorUnavailable, SettingError
from gallery_builder.model import ImageJob, ImageProcessor, ProcessorInfo
from gallery_builder.processors import choose_processor, image_processors, run_job
from gallery_builder.testing import build_gallery, plugin_manager, run_cli

ALL_FORMATS = frozenset({"jpeg", "webp", "avif", "png"})
MISSING = "libmagic-pixels is not installed; pip install 'gallery-magic[pixels]'"


def _recording_info() -> ProcessorInfo:
    return ProcessorInfo(version="r1", formats=ALL_FORMATS)


def _unavailable() -> ProcessorInfo:
    raise ProcessorUnavailable(MISSING)


def _jpeg_only() -> ProcessorInfo:
    return ProcessorInfo(version="j1", formats=frozenset({"jpeg"}))


class Recording:
    """Offers "recording": Pillow's work through a worker that remembers its jobs."""

    @hookimpl
    def gallery_image_processors(self):
        return [
            ImageProcessor("recording", "processor_functions:recording_pillow", _recording_info)
        ]


class Magic:
    """Offers "magic", which cannot run here, and "jpeg-only"."""

    @hookimpl
    def gallery_image_processors(self):
        return [
            ImageProcessor("magic", "processor_functions:recording_pillow", _unavailable),
            ImageProcessor("jpeg-only", "processor_functions:recording_pillow", _jpeg_only),
        ]


@pytest.fixture
def one(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", size=(320, 240))
    return source


def settings(source: Path, text: str) -> Path:
    path = source / "gallery.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_pillow_is_the_default_and_offered_by_the_images_plugin(one: Path) -> None:
    pm = plugin_manager()
    offered = image_processors(pm)
    assert offered["pillow"][1] == "images"  # (the vips plugin offers "vips" beside it)
    processor, info = choose_processor(pm, load_config(one))
    assert processor.name == "pillow"
    assert processor.worker == "gallery_builder.imaging:process_image"
    assert info.version == imaging.PROCESSOR_VERSION
    assert {"jpeg", "png"} <= info.formats


def test_the_option_wins_over_the_setting(one: Path) -> None:
    settings(one, '[images]\nprocessor = "pillow"\n')
    pm = plugin_manager(Recording())
    processor, info = choose_processor(pm, load_config(one), "recording")
    assert (processor.name, info.version) == ("recording", "r1")


def test_an_unknown_processor_in_the_settings_names_file_line_key_and_the_names(
    one: Path, out: Path
) -> None:
    path = settings(one, '[gallery]\ntitle = "x"\n\n[images]\nprocessor = "vipz"\n')
    result = run_cli(["build", one, "-o", out, "-j", "1"], Recording())
    assert result.exit_code == 2, result.output
    assert (
        f'Error: {path}:5: [images] processor = "vipz": no such image processor; '
        "allowed: pillow, recording"
    ) in result.output
    assert "Traceback" not in result.output
    assert not (out / "manifest.json").exists()


def test_an_unknown_processor_option_names_the_option(one: Path, out: Path) -> None:
    result = run_cli(["build", one, "-o", out, "--processor", "vipz"])
    assert result.exit_code == 2, result.output
    assert "Error: --processor vipz: no such image processor; allowed: pillow" in result.output
    assert "Traceback" not in result.output


def test_an_empty_processor_option_is_shown_quoted(one: Path, out: Path) -> None:
    result = run_cli(["build", one, "-o", out, "--processor", ""])
    assert result.exit_code == 2, result.output
    assert "Error: --processor '': no such image processor; allowed: pillow" in result.output


def test_choose_processor_raises_a_setting_error_without_a_file(one: Path) -> None:
    with pytest.raises(SettingError, match=r"^\[images\] processor = \"gone\": no such image"):
        choose_processor(plugin_manager(), load_config(one).with_processor("gone"))


@pytest.mark.parametrize("how", ["setting", "option"])
def test_a_processor_that_cannot_run_here_is_one_error_line(one: Path, out: Path, how: str) -> None:
    args = ["build", one, "-o", out, "-j", "1"]
    if how == "setting":
        settings(one, '[images]\nprocessor = "magic"\n')
    else:
        args += ["--processor", "magic"]
    result = run_cli(args, Magic())
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines() == [f"Error: {MISSING}"]
    assert not (out / "manifest.json").exists()


def test_a_probe_that_fails_unexpectedly_is_the_plugins_error(one: Path, out: Path) -> None:
    def broken() -> ProcessorInfo:
        raise KeyError("version")

    class Broken:
        @hookimpl
        def gallery_image_processors(self):
            return [ImageProcessor("broken", "processor_functions:recording_pillow", broken)]

    result = run_cli(["build", one, "-o", out, "--processor", "broken"], Broken())
    assert result.exit_code == 1, result.output
    assert (
        "Error: plugin 'Broken' failed in gallery_image_processors on the probe of image "
        "processor 'broken': KeyError: 'version'; run with -v for the traceback"
    ) in result.output
    assert "Traceback" not in result.output


def test_a_format_the_processor_cannot_write_is_an_error(one: Path, out: Path) -> None:
    result = run_cli(["build", one, "-o", out, "--processor", "jpeg-only"], Magic())
    assert result.exit_code == 1, result.output
    assert "Error: the image processor 'jpeg-only' cannot write webp here" in result.output


def test_a_processor_offered_twice_is_an_error_naming_both_plugins(one: Path) -> None:
    class Again:
        @hookimpl
        def gallery_image_processors(self):
            return [ImageProcessor("recording", "x:y", _recording_info)]

    twice = "two plugins offer the image processor 'recording'"
    with pytest.raises(GalleryError, match=twice) as caught:
        choose_processor(plugin_manager(Recording(), Again()), load_config(one))
    assert "Recording" in str(caught.value) and "Again" in str(caught.value)


def test_a_processor_setting_that_is_not_a_name_names_file_and_line(one: Path) -> None:
    path = settings(one, "[images]\nprocessor = 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(one)
    assert str(caught.value).startswith(f"{path}:2: [images] processor = 3 is not allowed")


def test_the_chosen_processor_makes_the_images_and_is_in_their_cache_key(
    one: Path, out: Path
) -> None:
    build_gallery(one, out)
    by_pillow = read_manifest(out)["images"][0]["derivatives"]
    processor_functions.JOBS.clear()
    settings(one, '[images]\nprocessor = "recording"\n')
    result = build_gallery(one, out, Recording())
    assert result.made == 1
    [job] = processor_functions.JOBS
    assert job.processor == "processor_functions:recording_pillow"
    assert job.threads >= 1
    by_recording = read_manifest(out)["images"][0]["derivatives"]
    assert set(by_recording) == set(by_pillow)
    assert all(by_recording[key] != by_pillow[key] for key in by_pillow)
    for path in by_recording.values():
        assert (out / path).is_file()
    processor_functions.JOBS.clear()
    build_gallery(one, out, Recording())  # nothing changed: nothing made
    assert processor_functions.JOBS == []


def test_run_job_calls_the_worker_the_job_names(one: Path, tmp_path: Path) -> None:
    job = ImageJob(source_path=str(one / "a.jpg"), output_root=str(tmp_path), targets=())
    processor_functions.JOBS.clear()
    result = run_job(replace(job, processor="processor_functions:recording_pillow"))
    assert result.error is None
    assert [j.source_path for j in processor_functions.JOBS] == [job.source_path]
    for worker in ("no_such_function", "NOT_A_FUNCTION", "no_such_module"):
        name = f"processor_functions:{worker}" if worker != "no_such_module" else "nope:f"
        with pytest.raises(GalleryError, match=f"worker {name} "):
            run_job(replace(job, processor=name))


def test_a_worker_imports_no_settings_or_plugin_machinery() -> None:
    # what the forkserver preloads for every worker: the image code, not config or jinja2
    code = (
        "import sys, gallery_builder.imaging, gallery_builder.processors\n"
        "heavy = {'jinja2', 'gallery_builder.config', 'gallery_builder.plugin_manager'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"


def test_a_worker_encodes_webp_without_loading_every_pillow_plugin() -> None:
    # Image.save() of a format Pillow has not registered yet imports all its plugins first
    code = (
        "import sys\n"
        "from PIL import Image\n"
        "from gallery_builder import imaging\n"
        "from gallery_builder.model import DerivativeSpec\n"
        "spec = DerivativeSpec('8', 'resize', (8, 8), 'webp', 80)\n"
        "assert imaging.encode(Image.new('RGB', (8, 8)), spec, icc=None, exif=None)\n"
        "print('PIL.XbmImagePlugin' in sys.modules, 'PIL.TgaImagePlugin' in sys.modules)\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "False False"


def test_the_forkserver_preloads_the_cli_that_each_worker_would_import_again() -> None:
    # a worker runs the parent's main script again (``__mp_main__``); the ``gallery`` script
    # imports gallery_builder.cli, which the forkserver then has already, once for all
    code = (
        "import sys\n"
        "from gallery_builder.plugins.executor import worker_preload\n"
        "before = worker_preload()\n"
        "import gallery_builder.cli\n"
        "print(before, worker_preload())\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    imaging = "'gallery_builder.imaging', 'gallery_builder.processors'"
    assert found.strip() == f"[{imaging}] [{imaging}, 'gallery_builder.cli']"
