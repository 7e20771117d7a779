"""A third-party plugin's failure names the plugin, its distribution, the hook and what it was
working on, in one Error line (-v adds the traceback); a misspelt hook fails at start-up."""

from __future__ import annotations

import pickle
from pathlib import Path

import pictures
import pytest
from test_plugins import gallery_with, install

from gallery_builder import hookimpl
from gallery_builder.errors import GalleryError, PluginError, ThemeError
from gallery_builder.testing import plugin_manager, run_cli


class ContextNeedsText:
    @hookimpl
    def gallery_template_context(self, page, site, config):
        return {"caption": {}["text"]}


class RendererNeedsText:
    @hookimpl
    def gallery_render_page(self, page, context, environment):
        return context["no such key"]


def build_args(source: Path, out: Path, *more: str) -> list[str | Path]:
    pictures.jpeg(source / "a.jpg")
    return ["build", source, "-o", out, *more]


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


def test_a_key_error_in_a_plugins_template_context_names_the_plugin_not_the_theme(
    source: Path, out: Path
) -> None:
    result = run_cli(build_args(source, out), ("captions", ContextNeedsText()))
    assert result.exit_code == 1
    assert error_lines(result.output) == [
        "Error: plugin 'captions' failed in gallery_template_context on page 'error.html': "
        "KeyError: 'text'; run with -v for the traceback, or block it with --block captions"
    ]
    assert "Traceback" not in result.output and "theme" not in result.output


def test_a_key_error_in_a_plugins_renderer_is_the_plugins_not_the_themes(
    source: Path, out: Path
) -> None:
    result = run_cli(build_args(source, out), ("myrender", RendererNeedsText()))
    assert result.exit_code == 1
    (line,) = error_lines(result.output)
    assert line.startswith(
        "Error: plugin 'myrender' failed in gallery_render_page on page 'error.html': "
        "KeyError: 'no such key'"
    )
    assert "cannot render" not in result.output and "Traceback" not in result.output


def test_verbose_build_prints_the_plugins_traceback(source: Path, out: Path) -> None:
    result = run_cli(build_args(source, out, "-v"), ("captions", ContextNeedsText()))
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.output
    assert 'return {"caption": {}["text"]}' in result.output
    assert result.output.rstrip().splitlines()[-1].startswith("Error: plugin 'captions'")


def test_the_subject_is_the_picture_for_a_hook_given_a_source(source: Path, out: Path) -> None:
    class Reader:
        @hookimpl(tryfirst=True)
        def gallery_read_metadata(self, source, config):
            raise ValueError("no EXIF here")

    result = run_cli(build_args(source, out), ("reader", Reader()))
    assert result.exit_code == 1
    assert "plugin 'reader' failed in gallery_read_metadata on picture 'a.jpg': ValueError: " \
        "no EXIF here" in result.output  # fmt: skip
    assert "skipped" not in result.output  # the plugin's bug, not the picture's fault


def test_a_hook_without_a_subject_and_an_unnamed_plugin(source: Path, out: Path) -> None:
    class AddsPages:
        @hookimpl
        def gallery_pages(self, site, config):
            raise RuntimeError

    result = run_cli(build_args(source, out), AddsPages())
    assert result.exit_code == 1
    assert "Error: plugin 'AddsPages' failed in gallery_pages: RuntimeError; run" in result.output


def test_a_gallery_error_raised_on_purpose_passes_unchanged(source: Path, out: Path) -> None:
    class Strict:
        @hookimpl
        def gallery_pages(self, site, config):
            raise ThemeError("the about page needs [plugins.about] text")

    result = run_cli(build_args(source, out), ("about", Strict()))
    assert result.exit_code == 1
    assert error_lines(result.output) == ["Error: the about page needs [plugins.about] text"]


def test_builtin_hooks_are_not_wrapped() -> None:
    from gallery_builder.plugins import render

    pm = plugin_manager(("captions", ContextNeedsText()))
    (builtin,) = [i for i in pm.hook.gallery_render_page.get_hookimpls() if i.plugin is render]
    assert builtin.function is render.gallery_render_page
    (theirs,) = pm.hook.gallery_template_context.get_hookimpls()
    assert theirs.function is not ContextNeedsText.gallery_template_context
    assert theirs.function.__wrapped__.__func__ is ContextNeedsText.gallery_template_context


def test_an_installed_plugins_error_names_its_distribution(tmp_path: Path) -> None:
    code = """
        from gallery_builder import hookimpl

        @hookimpl
        def gallery_manifest_fields(site, config):
            return {"n": 1 / 0}
        """
    site = install(tmp_path / "site-packages", "gallery-oops", "0.2", "oops", code)
    source = tmp_path / "photos"
    source.mkdir()
    pictures.jpeg(source / "a.jpg")
    process = gallery_with(site, "build", str(source), "-o", str(tmp_path / "out"))
    assert process.returncode == 1
    assert process.stderr.splitlines()[-1] == (
        "Error: plugin 'oops' (gallery-oops 0.2) failed in gallery_manifest_fields: "
        "ZeroDivisionError: division by zero; run with -v for the traceback, "
        "or block it with --block oops"
    )
    assert "Traceback" not in process.stderr
    again = gallery_with(site, "--block", "oops", "build", str(source), "-o", str(tmp_path / "o"))
    assert again.returncode == 0, again.stderr


def test_verbose_publish_prints_the_plugins_traceback(site: Path, tmp_path: Path) -> None:
    class Publishers:
        @hookimpl
        def gallery_publishers(self):
            raise OSError("cannot reach the registry")

    target = (tmp_path / "dest").as_uri()
    quiet = run_cli(["publish", target, "--site", site], ("mypub", Publishers()))
    assert quiet.exit_code == 1
    assert "Error: plugin 'mypub' failed in gallery_publishers: OSError: cannot reach" in (
        quiet.output
    )
    assert "Traceback" not in quiet.output
    loud = run_cli(["publish", target, "--site", site, "-v"], ("mypub", Publishers()))
    assert loud.exit_code == 1 and "Traceback (most recent call last)" in loud.output


def test_a_plugin_error_survives_pickling_with_its_traceback() -> None:
    try:
        {}["text"]
    except KeyError as exc:
        error = PluginError(
            "watermark", "gallery_image_steps", exc,
            distribution="gallery-watermark 0.1.0", subject="picture 'Sea/wave.jpg'",
        )  # fmt: skip
    assert str(error) == (
        "plugin 'watermark' (gallery-watermark 0.1.0) failed in gallery_image_steps on "
        "picture 'Sea/wave.jpg': KeyError: 'text'; run with -v for the traceback, or block it "
        "with --block watermark"
    )
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.plugin, copy.hook, copy.distribution, copy.subject, str(copy)) == (
        error.plugin, error.hook, error.distribution, error.subject, str(error)
    )  # fmt: skip
    assert isinstance(copy.cause, KeyError) and copy.__cause__ is copy.cause
    assert "in test_a_plugin_error_survives_pickling" in copy.traceback_text()


# --- Unknown hook names ----------------------------------------------------------------------


class Misspelt:
    @hookimpl
    def gallery_page(self, site, config):
        return []


def test_an_unknown_hook_name_fails_at_start_up_naming_the_closest_hook() -> None:
    with pytest.raises(GalleryError) as caught:
        plugin_manager(("pages", Misspelt()))
    assert str(caught.value) == (
        "plugin 'pages' implements gallery_page, which is not a hook; did you mean "
        "gallery_pages? Fix the plugin (see docs/hooks.md), or block it with --block pages "
        "(or GALLERY_BLOCK_PLUGINS=pages)"
    )


def test_an_installed_plugin_with_an_unknown_hook_is_not_listed_as_fine(tmp_path: Path) -> None:
    code = """
        from gallery_builder import hookimpl

        @hookimpl
        def gallery_manifest_field(site, config):
            return {}
        """
    site = install(tmp_path / "site-packages", "gallery-typo", "1.0", "typo", code)
    process = gallery_with(site, "plugins")
    assert process.returncode == 1 and process.stdout == ""
    assert process.stderr.splitlines() == [
        "Error: plugin 'typo' (gallery-typo 1.0) implements gallery_manifest_field, which is "
        "not a hook; did you mean gallery_manifest_fields? Fix the plugin (see docs/hooks.md), "
        "or block it with --block typo (or GALLERY_BLOCK_PLUGINS=typo)"
    ]
    blocked = gallery_with(site, "--block", "typo", "plugins")
    assert blocked.returncode == 0 and "typo" not in blocked.stdout
