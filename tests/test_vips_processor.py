"""The vips processor as a plugin: offered by its own entry point, probed only when chosen
(one error line when pyvips is missing, and every other build unaffected), its version in the
cache key, and the worker's failures as Pillow's: write errors and nothing left behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pictures
import pytest
import pyvips
from conftest import gallery, read_manifest
from gallery_builder.plugins.vips import CODE_VERSION, INSTALL, VIPS, probe

from gallery_builder.config import load_config
from gallery_builder.model import DerivativeSpec, ImageJob
from gallery_builder.processors import choose_processor, image_processors, run_job
from gallery_builder.testing import build_gallery, plugin_manager

#: `gallery ARGS` in a process where pyvips cannot be imported, as where it is not installed
WITHOUT_PYVIPS = (
    "import runpy, sys; sys.modules['pyvips'] = None; sys.argv[0] = 'gallery'; "
    "runpy.run_module('gallery_builder', run_name='__main__')"
)


def gallery_without_pyvips(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PYVIPS, *map(str, args)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_the_vips_plugin_offers_the_vips_processor() -> None:
    offered = image_processors(plugin_manager())
    assert offered["vips"] == (VIPS, "vips")
    assert VIPS.worker == "gallery_builder.plugins.vips.worker:process_image"


def test_the_version_names_this_code_and_libvips_and_the_formats_are_tried(source: Path) -> None:
    (source / "gallery.toml").write_text('[images]\nprocessor = "vips"\n', encoding="utf-8")
    processor, info = choose_processor(plugin_manager(), load_config(source))
    libvips = ".".join(str(pyvips.version(i)) for i in range(3))
    assert processor is VIPS and info == probe()
    assert info.version.startswith(f"{CODE_VERSION}/libvips-{libvips}/pillow-")
    assert info.formats == {"jpeg", "webp", "avif", "png"}  # pyvips-binary encodes all four


def test_without_pyvips_choosing_vips_is_one_error_line(source: Path, out: Path) -> None:
    pictures.jpeg(source / "photo.jpg")

    done = gallery_without_pyvips("build", source, "-o", out, "-j", "1", "--processor", "vips")

    assert done.returncode == 1, done.stderr
    assert (done.stdout + done.stderr).strip().splitlines() == [f"Error: {INSTALL}"]
    assert not (out / "manifest.json").exists()


def test_a_libvips_that_cannot_be_loaded_is_named_with_its_cause_and_the_fix(
    source: Path, out: Path, tmp_path: Path
) -> None:
    # a pyvips first on the path that fails as pyvips does when it finds no libvips
    shim = tmp_path / "no-libvips"
    shim.mkdir()
    (shim / "pyvips.py").write_text(
        "raise OSError(\"cannot load library 'libvips.so.42': No such file or directory\")\n"
    )
    pictures.jpeg(source / "photo.jpg")

    done = gallery(
        "build", source, "-o", out, "-j", "1", "--processor", "vips",
        env={"PYTHONPATH": str(shim)},
    )  # fmt: skip

    assert done.returncode == 1, done.stderr
    assert (done.stdout + done.stderr).strip().splitlines() == [
        "Error: libvips could not be loaded (cannot load library 'libvips.so.42': No such file "
        "or directory): pip install 'gallery-builder[vips]', which brings pyvips-binary, a "
        "wheel with libvips built in"
    ]
    assert not (out / "manifest.json").exists()


def test_without_pyvips_a_pillow_build_is_unaffected(source: Path, out: Path) -> None:
    pictures.jpeg(source / "photo.jpg")

    done = gallery_without_pyvips("build", source, "-o", out, "-j", "1")

    assert done.returncode == 0, done.stderr
    assert len(read_manifest(out)["images"]) == 1


def test_the_processor_is_in_each_derivatives_name(source: Path, tmp_path: Path) -> None:
    pictures.jpeg(source / "photo.jpg")
    names = {}
    for processor in ("pillow", "vips"):
        text = f'[images]\nprocessor = "{processor}"\n'
        (source / "gallery.toml").write_text(text, encoding="utf-8")
        build_gallery(source, tmp_path / processor)
        (image,) = read_manifest(tmp_path / processor)["images"]
        names[processor] = image["derivatives"]
    assert names["pillow"].keys() == names["vips"].keys()
    assert all(names["pillow"][k] != names["vips"][k] for k in names["pillow"])


def test_an_output_that_cannot_be_written_is_a_write_error_leaving_nothing(
    source: Path, tmp_path: Path
) -> None:
    photo = pictures.jpeg(source / "photo.jpg", (320, 240))
    out = tmp_path / "out"
    (out / "blocked").mkdir(parents=True)
    (out / "blocked" / "photo").write_text("a file where a folder should be")
    big = DerivativeSpec("640", "resize", (640, 640), "jpeg", 80)
    small = DerivativeSpec("160", "resize", (160, 160), "jpeg", 80)
    targets = ((big, "ok/photo.640.jpg"), (small, "blocked/photo/photo.160.jpg"))
    job = ImageJob(str(photo), str(out), targets, processor=VIPS.worker)

    result = run_job(job)

    assert result.derivatives == () and result.error is None
    assert result.write_error.startswith(f"cannot write {out / targets[1][1]}")
    assert not (out / "ok" / "photo.640.jpg").exists()  # made first, then removed


@pytest.mark.parametrize("processor", ["pillow", "vips"])
def test_a_picture_both_processors_reject_gets_the_same_reason(
    tmp_path: Path, processor: str
) -> None:
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    spec = DerivativeSpec("160", "resize", (160, 160), "png", 0)
    worker = {"pillow": "gallery_builder.imaging:process_image", "vips": VIPS.worker}[processor]
    job = ImageJob(str(empty), str(tmp_path / "out"), ((spec, "e.png"),), processor=worker)

    result = run_job(job)

    assert result.error == "not a picture Pillow can read"
