"""Image steps (the ``gallery_image_steps`` hook): what they do to the pixels, how they shape
the cache, how their failures are reported. Step functions live in tests/step_functions.py,
which the image workers import by name."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest
from PIL import Image

from gallery_builder import hookimpl
from gallery_builder.config import load_config
from gallery_builder.errors import PluginError
from gallery_builder.image_steps import StepCollector
from gallery_builder.model import ImageStep, Metadata, Picture, Source
from gallery_builder.testing import build_gallery, plugin_manager, run_cli

RED = (255, 0, 0)


class Steps:
    """A plugin giving every picture the same steps (or ``per_picture[relpath]``)."""

    def __init__(self, *steps: ImageStep, per_picture: dict[str, list[ImageStep]] | None = None):
        self.steps = list(steps)
        self.per_picture = per_picture or {}

    @hookimpl
    def gallery_image_steps(self, source, metadata, config):
        return self.per_picture.get(source.relpath, self.steps)


def red(fraction: float = 0.25) -> ImageStep:
    return ImageStep("step_functions:red_rectangle", {"fraction": fraction}, version="1")


def image_paths(out: Path) -> dict[str, dict[str, str]]:
    """{picture relpath: {derivative key: site path}} from the manifest."""
    return {i["source"]: i["derivatives"] for i in read_manifest(out)["images"]}


def pixel(out: Path, path: str, x: float, y: float) -> tuple[int, int, int]:
    """The colour at (x, y), given as fractions of the width and height."""
    with Image.open(out / path) as im:
        im = im.convert("RGB")
        return im.getpixel((int(x * (im.width - 1)), int(y * (im.height - 1))))


def near(colour: tuple[int, ...], want: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, want, strict=True))


@pytest.fixture
def two(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.png(source / "Sub" / "b.png")
    return source


# --- What a step does to the pixels ----------------------------------------------------------


def test_a_step_draws_on_every_derivative_thumbnails_included(two: Path, out: Path) -> None:
    build_gallery(two, out, Steps(red()), jobs=2)  # a real process pool
    derivatives = [p for paths in image_paths(out).values() for p in paths.values()]
    assert len(derivatives) >= 6 and any(".thumb." in p for p in derivatives)
    for path in derivatives:
        assert near(pixel(out, path, 0.95, 0.95), RED), path  # blue in the source
        assert near(pixel(out, path, 0.95, 0.05), (0, 0, 255), 60), path  # left alone


def test_without_steps_the_names_are_those_of_a_build_without_the_hook(
    two: Path, out: Path, tmp_path: Path
) -> None:
    build_gallery(two, out, Steps())  # a plugin that returns no step
    build_gallery(two, tmp_path / "plain")
    assert image_paths(out) == image_paths(tmp_path / "plain")
    path = image_paths(out)["a.jpg"]["thumb.webp"]
    assert near(pixel(out, path, 0.95, 0.95), (40, 140, 255), 60)


@pytest.mark.parametrize("orientation", [6, 8, 3])
def test_the_step_sees_the_picture_upright_and_at_its_size(
    source: Path, out: Path, orientation: int
) -> None:
    # stored turned, displayed (after EXIF orientation) 320×240 with red top-left; the step
    # fails unless it sees red at its top-left
    pictures.jpeg(source / "turned.jpg", (320, 240), orientation=orientation)
    build_gallery(source, out, Steps(ImageStep("step_functions:stamp_top_left")), jobs=2)
    image = read_manifest(out)["images"][0]
    for key, path in image["derivatives"].items():
        assert near(pixel(out, path, 0.0, 0.0), (0, 255, 0)), key  # the step's stamp
        assert pictures.displayed_red_corner(out / path) == "top-left", key
    with Image.open(out / image["derivatives"]["640.webp"]) as im:
        assert im.size == (320, 240)  # displayed size, so landscape


def test_steps_run_in_order_each_on_the_image_the_one_before_returned(two: Path, out: Path) -> None:
    # the stamp refuses a picture whose top-left is not red: it must run before grey()
    stamp, grey = ImageStep("step_functions:stamp_top_left"), ImageStep("step_functions:grey")
    build_gallery(two, out, Steps(stamp, grey))
    path = image_paths(out)["a.jpg"]["thumb.jpeg"]
    r, g, b = pixel(out, path, 0.9, 0.9)
    assert abs(r - g) < 8 and abs(g - b) < 8  # grey, written as an RGB JPEG
    with Image.open(out / path) as im:
        assert im.mode == "RGB"


def test_collected_steps_name_their_plugin_in_call_order(two: Path) -> None:
    class First(Steps):
        pass

    class Last(Steps):
        @hookimpl(tryfirst=True)
        def gallery_image_steps(self, source, metadata, config):
            return self.steps

    config = load_config(two)
    pm = plugin_manager(Last(red(0.1)), First(red(0.2)), Steps(red(0.3)))
    source = Source(str(two / "a.jpg"), "a.jpg", 1, 1)
    picture = Picture(source, "0" * 32, Metadata(320, 240, "JPEG"), "a", "")
    steps, key = StepCollector(pm).steps(picture, config)
    # tryfirst first, then the plugin registered last
    assert [(s.plugin, s.kwargs["fraction"]) for s in steps] == [
        ("Last", 0.1), ("Steps", 0.3), ("First", 0.2),
    ]  # fmt: skip
    assert key.splitlines()[0] == "step_functions:red_rectangle|(('fraction', 0.1),)|1|"


# --- The cache: steps are part of each derivative's key ------------------------------------


def test_unchanged_steps_reuse_every_image(two: Path, out: Path) -> None:
    build_gallery(two, out, Steps(red()), jobs=2)
    before = image_paths(out)
    result = build_gallery(two, out, Steps(red()), jobs=2)  # a new plugin object, same steps
    assert (result.made, result.reused) == (0, 2)
    images = {p for paths in before.values() for p in paths.values()}
    assert not images & set(result.written) and result.removed == []
    assert image_paths(out) == before


def test_changing_a_steps_params_remakes_exactly_its_images(two: Path, out: Path) -> None:
    build_gallery(two, out, Steps(red()))
    before = image_paths(out)
    b_files = {p: (out / p).stat().st_mtime_ns for p in before["Sub/b.png"].values()}
    result = build_gallery(two, out, Steps(red(), per_picture={"a.jpg": [red(0.5)]}))
    after = image_paths(out)
    assert (result.made, result.reused) == (1, 1)
    assert after["Sub/b.png"] == before["Sub/b.png"]  # untouched, not rewritten
    assert {p: (out / p).stat().st_mtime_ns for p in after["Sub/b.png"].values()} == b_files
    assert set(after["a.jpg"]) == set(before["a.jpg"])
    assert not set(after["a.jpg"].values()) & set(before["a.jpg"].values())  # every name new
    assert sorted(result.removed) == sorted(set(before["a.jpg"].values()))
    assert not any((out / p).exists() for p in before["a.jpg"].values())
    assert near(pixel(out, after["a.jpg"]["640.webp"], 0.6, 0.6), RED)  # the new rectangle


def test_a_steps_version_is_part_of_the_key(two: Path, out: Path) -> None:
    build_gallery(two, out, Steps(red()))
    before = image_paths(out)
    step = ImageStep(red().function, red().params, version="2")
    result = build_gallery(two, out, Steps(step))
    assert result.made == 2 and not set(image_paths(out)["a.jpg"].values()) & set(
        before["a.jpg"].values()
    )


def test_a_step_from_a_newly_installed_plugin_remakes_every_image(two: Path, out: Path) -> None:
    build_gallery(two, out)
    before = image_paths(out)
    result = build_gallery(two, out, Steps(red()))
    assert (result.made, result.reused) == (2, 0)
    for relpath, paths in image_paths(out).items():
        assert not set(paths.values()) & set(before[relpath].values())
    assert len(result.removed) == len({p for paths in before.values() for p in paths.values()})


PLUGIN = """\
from gallery_builder import hookimpl
from gallery_builder.model import ImageStep

FRACTION = {fraction}


@hookimpl
def gallery_image_steps(source, metadata, config):
    return [ImageStep("step_functions:red_rectangle", {{"fraction": FRACTION}})]
"""


def load_plugin(path: Path, fraction: float):
    """The plugin module ``stamp_plugin`` at ``path``, written with ``fraction``: as a user
    editing their plugin and building again would load it."""
    path.write_text(PLUGIN.format(fraction=fraction))
    spec = importlib.util.spec_from_file_location("stamp_plugin", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop("stamp_plugin", None)
    return module


def test_the_no_op_build_sees_a_changed_step(two: Path, out: Path, tmp_path: Path) -> None:
    plugin_file = tmp_path / "stamp_plugin.py"
    build_gallery(two, out, load_plugin(plugin_file, 0.25))
    again = build_gallery(two, out, load_plugin(plugin_file, 0.25))
    assert again.written == [] and again.made == 0  # nothing changed: nothing to do
    before = image_paths(out)
    changed = build_gallery(two, out, load_plugin(plugin_file, 0.125))  # the plugin edited
    assert changed.made == 2
    assert not set(image_paths(out)["a.jpg"].values()) & set(before["a.jpg"].values())


# --- Failures ------------------------------------------------------------------------------


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_exception_in_a_step_fails_the_build_naming_the_plugin_and_the_picture(
    two: Path, out: Path, jobs: str
) -> None:
    failing = Steps(per_picture={"a.jpg": [ImageStep("step_functions:fail")]})
    result = run_cli(["build", two, "-o", out, "-j", jobs], failing)
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result.output)
    assert line.startswith(
        "Error: plugin 'Steps' failed in gallery_image_steps on picture 'a.jpg' in step "
        "step_functions:fail: KeyError: 'text'; "
    ), line
    assert "--block Steps" in line
    assert "Traceback" not in result.output and "skipped" not in result.output
    # nothing of the picture is written, nothing is left in the staging folder
    assert not list(out.glob("a.*")) and not list(out.rglob("*.tmp"))
    assert not (out / ".gallery" / "staging").exists() or not any(
        (out / ".gallery" / "staging").rglob("*")
    )
    assert not (out / "manifest.json").exists()
    # the picture is not remembered as broken: without the plugin it builds
    fixed = build_gallery(two, out)
    assert fixed.skipped == [] and {"a.jpg", "Sub/b.png"} == set(image_paths(out))


def test_the_error_carries_the_steps_exception_as_its_cause(two: Path, out: Path) -> None:
    with pytest.raises(PluginError) as caught:
        build_gallery(two, out, Steps(ImageStep("step_functions:fail")), jobs=2)
    error = caught.value
    assert (error.plugin, error.hook) == ("Steps", "gallery_image_steps")
    assert isinstance(error.cause, KeyError)
    assert error.subject in ("picture 'a.jpg' in step step_functions:fail",
                             "picture 'Sub/b.png' in step step_functions:fail")  # fmt: skip
    # the worker's traceback travels with it (shown by -v)
    assert "in fail" in str(error.cause.__cause__) and "return {}[key]" in str(
        error.cause.__cause__
    )


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        ("step_functions:no_image", "TypeError: the step returned None, not a PIL image"),
        ("step_functions:fail_unpicklable", "RuntimeError: Unpicklable: font: not found"),
        ("no_such_module:draw", "ModuleNotFoundError: No module named 'no_such_module'"),
        ("step_functions:no_such_function", "AttributeError: module 'step_functions' has no"),
        ("step_functions:GREEN", "TypeError: step_functions:GREEN is tuple (0, 255, 0), not a"),
    ],
)
def test_a_step_that_cannot_run_fails_the_build_with_one_line(
    source: Path, out: Path, function: str, expected: str
) -> None:
    pictures.jpeg(source / "a.jpg")
    result = run_cli(["build", source, "-o", out, "-j", "2"], Steps(ImageStep(function)))
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result.output)
    assert f"on picture 'a.jpg' in step {function}: {expected}" in line, line
    assert "Traceback" not in result.output and not list(out.glob("a.*"))


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"draw": lambda image: image}, "cannot be sent to the image workers"),
        ({"font": object()}, "hold an object whose repr changes from one run to the next"),
    ],
)
def test_params_that_cannot_travel_to_a_worker_are_refused(
    two: Path, out: Path, params: dict, expected: str
) -> None:
    result = run_cli(["build", two, "-o", out], Steps(ImageStep("step_functions:grey", params)))
    assert result.exit_code == 1, result.output
    (line,) = error_lines(result.output)
    assert line.startswith("Error: plugin 'Steps' failed in gallery_image_steps on picture ")
    assert expected in line and "Traceback" not in result.output
    assert not list(out.glob("a.*"))


def test_a_plugin_returning_something_else_than_steps_is_named(two: Path, out: Path) -> None:
    class Sloppy:
        @hookimpl
        def gallery_image_steps(self, source, metadata, config):
            return ["step_functions:grey"]

    result = run_cli(["build", two, "-o", out], Sloppy())
    assert result.exit_code == 1
    (line,) = error_lines(result.output)
    assert "plugin 'Sloppy' failed in gallery_image_steps on picture " in line
    assert "it returned str 'step_functions:grey' where an ImageStep belongs" in line


# --- The model -------------------------------------------------------------------------------


def test_image_step_params_are_normalised_to_sorted_pairs() -> None:
    step = ImageStep("pkg.steps:draw", {"text": "©", "colour": [255, 255, 255]})
    assert step.params == (("colour", [255, 255, 255]), ("text", "©"))
    assert step == ImageStep("pkg.steps:draw", [("text", "©"), ("colour", [255, 255, 255])])
    assert step.kwargs == {"text": "©", "colour": [255, 255, 255]}
    assert ImageStep("pkg:Class.method").params == ()


@pytest.mark.parametrize("function", ["pkg.steps.draw", "pkg steps:draw", ":draw", "pkg:", 3])
def test_image_step_function_must_be_module_colon_qualname(function) -> None:
    with pytest.raises(ValueError, match=r"as 'package\.module:function'"):
        ImageStep(function)


@pytest.mark.parametrize("params", [[1, 2], {1: "x"}, "text", (("a", 1), ("a", 2))])
def test_image_step_params_must_name_each_parameter_once(params) -> None:
    with pytest.raises(ValueError, match=r"ImageStep\.params"):
        ImageStep("pkg:draw", params)


# --- The example of docs/hooks.md ------------------------------------------------------------


def test_the_copyright_line_example_of_the_docs_draws_its_line(
    source: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "hooks.md").read_text()
    section = text.split("## gallery_image_steps\n", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    plugin, steps = (b for b in blocks if b.startswith("# gallery_copyright/"))
    package = tmp_path / "lib" / "gallery_copyright"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(plugin)
    (package / "steps.py").write_text(steps)
    monkeypatch.syspath_prepend(str(tmp_path / "lib"))  # the in-process worker (-j 1) sees it
    try:
        import gallery_copyright

        pictures.jpeg(source / "a.jpg", (640, 480), taken="2021:06:01 12:00:00")
        build_gallery(source, out, gallery_copyright, jobs=1)
    finally:
        sys.modules.pop("gallery_copyright", None)
        sys.modules.pop("gallery_copyright.steps", None)
    paths = image_paths(out)["a.jpg"]
    assert near(pixel(out, paths["640.webp"], 0.0, 1.0), (0, 0, 0))  # the dark band
    with Image.open(out / paths["640.webp"]) as im:
        band = im.convert("RGB").crop((0, im.height - 30, 200, im.height))
        white = sum(n for n, colour in band.getcolors(200 * 30) if min(colour) > 200)
    assert white > 20  # the text
    assert near(pixel(out, paths["thumb.webp"], 0.0, 1.0), (0, 96, 200), 60)  # left alone
