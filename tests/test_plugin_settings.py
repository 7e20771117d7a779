"""Plugins declare the keys of their [plugins.NAME] table (gallery_settings); gallery.toml's
values are checked like the core's (file, line, key, what is allowed), reach every hook as
config.plugins[NAME], and are part of the build's fingerprint."""

from __future__ import annotations

from pathlib import Path

import pictures
import pytest
from conftest import read_manifest

from gallery_builder import hookimpl
from gallery_builder.config import ConfigError, load_config
from gallery_builder.errors import GalleryError
from gallery_builder.plugin_settings import (
    FrozenMapping,
    Setting,
    boolean,
    integer,
    number,
    one_of,
    plugin_settings_schemas,
    text,
)
from gallery_builder.testing import build_gallery, plugin_manager, run_cli


class Stamp:
    """Puts its settings in the manifest and its text on every page."""

    @hookimpl
    def gallery_settings(self):
        return {
            "text": Setting("©", help="the words", check=text(empty=False)),
            "size": Setting(3, check=integer(min=1, max=9)),
            "corners": Setting(["se"]),
        }

    @hookimpl
    def gallery_template_context(self, page, site, config):
        return {"stamp": config.plugins["stamp"]["text"]}

    @hookimpl
    def gallery_render_page(self, page, context, environment):
        return f"<p>{context['stamp']}</p>\n" if page.path == "error.html" else None

    @hookimpl
    def gallery_manifest_fields(self, site, config):
        return {"stamp": {k: v for k, v in config.plugins["stamp"].items()}}


STAMP = ("stamp", Stamp())


@pytest.fixture
def photos(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg")
    return source


def settings_file(source: Path, text: str) -> Path:
    path = source / "gallery.toml"
    path.write_text(text, encoding="utf-8")
    return path


def schemas(*plugins) -> dict:
    return plugin_settings_schemas(plugin_manager(*plugins))


def error_of(source: Path, *plugins) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_config(source, settings=schemas(*plugins))
    return caught.value


# --- What a plugin reads ---------------------------------------------------------------------


def test_defaults_are_filled_in_with_or_without_a_settings_file(source: Path) -> None:
    config = load_config(source, settings=schemas(STAMP))
    assert config.plugins == {"stamp": {"text": "©", "size": 3, "corners": ("se",)}}
    settings_file(source, '[gallery]\ntitle = "T"\n')
    assert load_config(source, settings=schemas(STAMP)).plugins["stamp"]["size"] == 3


def test_the_table_and_dotted_keys_are_read(source: Path) -> None:
    settings_file(source, '[plugins.stamp]\ntext = "me"\nsize = 5\n')
    assert load_config(source, settings=schemas(STAMP)).plugins["stamp"] == {
        "text": "me", "size": 5, "corners": ("se",)
    }  # fmt: skip
    settings_file(source, 'plugins.stamp.corners = ["nw", "se"]\n')
    assert load_config(source, settings=schemas(STAMP)).plugins["stamp"]["corners"] == (
        "nw", "se"
    )  # fmt: skip


def test_plugin_values_are_frozen_sorted_and_hashable(source: Path) -> None:
    settings_file(source, '[plugins.stamp]\nsize = 5\ntext = "me"\n')
    config = load_config(source, settings=schemas(STAMP))
    assert repr(config.plugins) == (
        "FrozenMapping({'stamp': FrozenMapping({'corners': ('se',), 'size': 5, 'text': 'me'})})"
    )
    assert hash(config) == hash(load_config(source, settings=schemas(STAMP)))
    with pytest.raises(TypeError):
        config.plugins["stamp"]["size"] = 1  # type: ignore[index]


def test_without_the_plugins_declarations_the_tables_are_not_read(source: Path) -> None:
    settings_file(source, "[plugins.whatever]\nx = 1\n")
    assert load_config(source).plugins == {}  # a caller with no plugin manager


# --- Errors like the core's ------------------------------------------------------------------


def test_a_bad_value_names_file_line_key_and_what_is_allowed(source: Path) -> None:
    path = settings_file(source, '[gallery]\ntitle = "x"\n\n[plugins.stamp]\nsize = "big"\n')
    assert str(error_of(source, STAMP)) == (
        f'{path}:5: [plugins.stamp] size = "big" is not allowed; expected a whole number '
        "from 1 to 9"
    )
    settings_file(source, "plugins.stamp.text = 3\n")
    assert str(error_of(source, STAMP)).endswith(
        ":1: [plugins.stamp] text = 3 is not allowed; expected a string that is not empty"
    )
    settings_file(source, '[plugins.stamp]\ncorners = "se"\n')  # no check: the default's type
    assert str(error_of(source, STAMP)).endswith(
        ':2: [plugins.stamp] corners = "se" is not allowed; expected a list, e.g. [1, 2]'
    )


def test_an_unknown_key_names_the_keys_allowed(source: Path) -> None:
    path = settings_file(source, "[plugins.stamp]\nsize = 2\ncolour = 1\n")
    assert str(error_of(source, STAMP)) == (
        f"{path}:3: unknown key 'colour' in [plugins.stamp]; allowed: text, size, corners"
    )


def test_an_unknown_plugin_table_names_the_plugins_that_take_settings(source: Path) -> None:
    path = settings_file(source, '[gallery]\ntitle = "x"\n[plugins.watermark]\ntext = "x"\n')
    assert str(error_of(source, STAMP)) == (
        f"{path}:3: unknown table [plugins.watermark]: no active plugin named 'watermark' "
        "takes settings (plugins that do: stamp; see `gallery plugins`)"
    )
    assert "(plugins that do: none;" in str(error_of(source))


def test_a_blocked_plugins_table_is_left_unread(photos: Path, out: Path) -> None:
    settings_file(photos, '[plugins.stamp]\ntext = "me"\n')
    blocked = run_cli(["--block", "stamp", "build", photos, "-o", out], STAMP)
    assert blocked.exit_code == 0, blocked.output
    assert "stamp" not in read_manifest(out)
    also = run_cli(["build", photos, "-o", out], STAMP, block=["stamp"])
    assert also.exit_code == 0, also.output


def test_a_table_that_is_not_a_table(source: Path) -> None:
    settings_file(source, "plugins = 3\n")
    assert "[plugins] must hold one table per plugin" in str(error_of(source, STAMP))
    settings_file(source, "[plugins]\nstamp = 3\n")
    assert str(error_of(source, STAMP)).endswith(
        ":2: [plugins.stamp] must be a table (a [plugins.stamp] line followed by its settings)"
    )


def test_the_unknown_section_message_mentions_plugin_tables(source: Path) -> None:
    settings_file(source, "[site]\n")
    allowed = "allowed: [gallery], [images], [publish], [build], [plugins.NAME]"
    assert allowed in str(error_of(source))


def test_a_password_in_a_plugin_table_is_refused_without_quoting_it(source: Path) -> None:
    settings_file(source, '[plugins.stamp]\npassword = "hunter2"\n')
    message = str(error_of(source, STAMP))
    assert ":2: [plugins.stamp] password: a password is never read from gallery.toml" in message
    assert "hunter2" not in message


def test_a_malformed_gallery_settings_answer_names_the_plugin() -> None:
    class Wrong:
        @hookimpl
        def gallery_settings(self):
            return {"size": 3}

    with pytest.raises(GalleryError, match="plugin 'wrong': gallery_settings must return"):
        schemas(("wrong", Wrong()))


def test_the_command_line_exits_2_with_the_line(photos: Path, out: Path) -> None:
    settings_file(photos, "[plugins.stamp]\nsize = 0\n")
    result = run_cli(["build", photos, "-o", out], STAMP)
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        f"Error: {photos / 'gallery.toml'}:2: [plugins.stamp] size = 0 is not allowed; "
        "expected a whole number from 1 to 9"
    ]


# --- The fingerprint -------------------------------------------------------------------------


def test_a_changed_plugin_setting_re_renders_the_site(photos: Path, out: Path) -> None:
    settings_file(photos, '[plugins.stamp]\ntext = "first"\n')
    build_gallery(photos, out, STAMP)
    assert build_gallery(photos, out, STAMP).written == []  # nothing changed: a no-op
    settings_file(photos, '[plugins.stamp]\ntext = "second"\n')
    again = build_gallery(photos, out, STAMP)
    assert {"error.html", "manifest.json"} <= set(again.written)
    assert again.made == 0  # the images are not remade for a page setting
    assert (out / "error.html").read_text() == "<p>second</p>\n"
    assert read_manifest(out)["stamp"]["text"] == "second"


def test_through_the_command_line_too(photos: Path, out: Path) -> None:
    settings_file(photos, '[plugins.stamp]\ntext = "first"\n')
    assert run_cli(["build", photos, "-o", out], STAMP).exit_code == 0
    settings_file(photos, '[plugins.stamp]\ntext = "second"\n')
    assert run_cli(["build", photos, "-o", out], STAMP).exit_code == 0
    assert read_manifest(out)["stamp"]["text"] == "second"


# --- Publishing reads them again -------------------------------------------------------------


def test_publish_checks_the_plugin_tables_it_reads_again(
    photos: Path, out: Path, tmp_path: Path
) -> None:
    path = settings_file(photos, '[plugins.stamp]\ntext = "me"\n')
    assert run_cli(["build", photos, "-o", out], STAMP).exit_code == 0
    path.write_text('[publish]\ntarget = "' + (tmp_path / "dest").as_uri() + '"\n'
                    '[plugins.stamp]\ntext = ""\n')  # fmt: skip
    result = run_cli(["publish", "--site", out], STAMP)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        f'Error: {path}:4: [plugins.stamp] text = "" is not allowed; expected a string that '
        "is not empty"
    )


# --- The ready-made checks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "good", "bad", "allowed"),
    [
        (text(), "", 1, "a string"),
        (integer(min=0), 0, 1.5, "a whole number of at least 0"),
        (integer(max=5), -3, True, "a whole number of at most 5"),
        (number(min=0, max=1), 1, 1.5, "a number from 0 to 1"),
        (boolean(), False, "no", "true or false"),
        (one_of("se", "nw", 2), 2, "ne", 'one of "se", "nw", 2'),
    ],
)
def test_ready_made_checks(check, good, bad, allowed) -> None:
    assert check(good) == good
    with pytest.raises(ValueError, match=f"^{allowed}$".replace("[", r"\[")):
        check(bad)


def test_number_gives_a_float_and_a_setting_without_check_follows_its_default() -> None:
    assert number()(1) == 1.0 and isinstance(number()(1), float)
    assert Setting(0.5).clean(1) == 1.0
    assert Setting(True).clean(False) is False
    with pytest.raises(ValueError, match="true or false"):
        Setting(True).clean(1)
    assert Setting(None).clean({"any": "thing"}) == {"any": "thing"}
    assert FrozenMapping({"b": [1], "a": {"c": 2}}) == {"a": {"c": 2}, "b": (1,)}


def test_gallery_plugins_lists_the_keys_a_plugin_takes() -> None:
    import json

    text = run_cli(["plugins"], STAMP).output
    assert "                 settings: [plugins.stamp] text, size, corners\n" in text
    rows = {row["name"]: row for row in json.loads(run_cli(["plugins", "--json"], STAMP).output)}
    assert rows["stamp"]["settings"] == ["text", "size", "corners"]
    assert rows["scan"]["settings"] == []
