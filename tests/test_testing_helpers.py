"""gallery_builder.testing: plugins registered under a name, and the hook recorder."""

from __future__ import annotations

from pathlib import Path

import pictures
import pytest
from conftest import read_manifest

from gallery_builder import hookimpl
from gallery_builder.model import Page
from gallery_builder.plugin_settings import Setting
from gallery_builder.testing import (
    HookRecorder,
    build_gallery,
    plugin_manager,
    record_hooks,
    run_cli,
)


class Shout:
    @hookimpl
    def gallery_settings(self):
        return {"word": Setting("hey")}

    @hookimpl
    def gallery_manifest_fields(self, site, config):
        return {"shout": config.plugins["shout"]["word"]}


@pytest.fixture
def photos(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg")
    pictures.jpeg(source / "Sub" / "b.jpg")
    return source


def test_a_named_plugin_gets_its_table_in_every_helper(photos: Path, out: Path) -> None:
    (photos / "gallery.toml").write_text('[plugins.shout]\nword = "ho"\n')
    build_gallery(photos, out, ("shout", Shout()))
    assert read_manifest(out)["shout"] == "ho"
    assert plugin_manager(("shout", Shout())).has_plugin("shout")
    result = run_cli(["plugins"], ("shout", Shout()))
    assert "shout            (local)" in result.output
    assert run_cli(["build", photos, "-o", out, "--force"], ("shout", Shout())).exit_code == 0


def test_record_hooks_gives_each_calls_kwargs_and_result(photos: Path, out: Path) -> None:
    class About:
        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("about.html", "error.html")]

    pm = plugin_manager(("about", About()))
    with record_hooks(pm) as hooks:
        build_gallery(photos, out, pm=pm)
    assert isinstance(hooks, HookRecorder)
    (pages,) = hooks.calls("gallery_pages")
    assert pages.kwargs["config"].source == photos
    assert [p.path for group in pages.result for p in group if p.path == "about.html"] == [
        "about.html"
    ]  # a collecting hook's result: one list per plugin
    rendered = [call.page.path for call in hooks.calls("gallery_render_page")]
    assert sorted(rendered) == rendered and "about.html" in rendered
    metadata = hooks.calls("gallery_read_metadata")
    assert sorted(call.kwargs["source"].relpath for call in metadata) == ["Sub/b.jpg", "a.jpg"]
    assert all(call.result.width > 0 for call in metadata)  # firstresult: the one answer
    assert hooks.last("gallery_album_tree").result.title == "photos"
    names = [call.name for call in hooks.calls()]
    assert names.index("gallery_scan") < names.index("gallery_pages")
    with pytest.raises(ValueError, match="no hook named 'gallery_page'"):
        hooks.calls("gallery_page")


def test_recording_stops_at_the_end_of_the_block(photos: Path, out: Path) -> None:
    pm = plugin_manager()
    with record_hooks(pm) as hooks:
        pass
    build_gallery(photos, out, pm=pm)
    assert hooks.calls() == []


def test_a_failed_hook_call_is_recorded_with_its_exception(photos: Path, out: Path) -> None:
    class Broken:
        @hookimpl
        def gallery_pages(self, site, config):
            raise LookupError("gone")

    pm = plugin_manager(("broken", Broken()))
    with record_hooks(pm) as hooks:
        result = run_cli(["build", photos, "-o", out], pm=pm)
    assert result.exit_code == 1
    call = hooks.last("gallery_pages")
    assert call.result is None and type(call.exception).__name__ == "PluginError"
    assert isinstance(call.exception.cause, LookupError)


def test_pm_and_plugins_are_not_given_together(photos: Path, out: Path) -> None:
    with pytest.raises(TypeError):
        build_gallery(photos, out, Shout(), pm=plugin_manager())
