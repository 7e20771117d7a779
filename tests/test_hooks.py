"""Each hook, exercised by a throw-away plugin. Meta-tests: every hook has a test here named
``test_hook_<name>`` and a section in docs/hooks.md."""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pictures
import pytest
from conftest import read_manifest
from PIL import Image

from gallery_builder import hookimpl, hookspecs
from gallery_builder.errors import GalleryError, ProcessorUnavailable
from gallery_builder.model import (
    Album,
    DerivativeSpec,
    ExtraFile,
    ImageProcessor,
    ImageStep,
    Page,
    ProcessorInfo,
    Source,
)
from gallery_builder.publishing import publisher_factories, publisher_for
from gallery_builder.testing import build_gallery, plugin_manager, run_cli

HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs) if name.startswith("gallery_"))
DOCS = Path(__file__).resolve().parent.parent / "docs" / "hooks.md"


def test_every_hook_has_a_test() -> None:
    tests = {name for name in globals() if name.startswith("test_hook_")}
    missing = [hook for hook in HOOKS if f"test_hook_{hook}" not in tests]
    assert not missing, f"hooks without a test: {missing}"


def test_every_hook_has_a_section_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [hook for hook in HOOKS if not re.search(rf"^## `?{hook}`?$", text, re.M)]
    assert not missing, f"hooks without a section in docs/hooks.md: {missing}"


@pytest.fixture
def two(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Sub" / "b.jpg", taken="2024:01:02 10:00:00")
    return source


# --- Registration --------------------------------------------------------------------------


def test_hook_gallery_register_commands() -> None:
    class Hello:
        @hookimpl
        def gallery_register_commands(self, cli: click.Group) -> None:
            @cli.command()
            @click.argument("name")
            def hello(name: str) -> None:
                click.echo(f"merhaba {name}")

    result = run_cli(["hello", "dünya"], Hello())
    assert (result.exit_code, result.output) == (0, "merhaba dünya\n")
    assert "hello" not in run_cli(["--help"]).output  # not leaked into other CLIs


def test_hook_gallery_themes(two: Path, out: Path, tmp_path: Path) -> None:
    theme = tmp_path / "sunny"
    (theme / "templates").mkdir(parents=True)
    (theme / "theme.toml").write_text('name = "sunny"\nextends = "default"\n')
    (theme / "templates" / "error.html").write_text("sunny 404 {{ site.title }}")

    class Sunny:
        @hookimpl
        def gallery_themes(self) -> list[Path]:
            return [theme]

    assert "sunny -> default" in run_cli(["themes"], Sunny()).output
    build_gallery(two, out, Sunny(), theme="sunny")
    assert (out / "error.html").read_text() == "sunny 404 photos"
    assert "<h1>photos</h1>" in (out / "index.html").read_text()  # inherited from default


def test_hook_gallery_publishers() -> None:
    def ftp_factory(**options):
        return ("ftp", options)

    class Ftp:
        @hookimpl
        def gallery_publishers(self):
            return {"ftp": ftp_factory}

    pm = plugin_manager(Ftp())
    assert publisher_factories(pm)["ftp"] is ftp_factory
    assert publisher_for(pm, "ftp://host/dir") == ("ftp", ftp_factory)
    with pytest.raises(GalleryError, match=r"no publisher for 'gopher://' \(installed: .*ftp://"):
        publisher_for(pm, "gopher://x")

    class OtherFtp:
        @hookimpl
        def gallery_publishers(self):
            return {"FTP": ftp_factory}

    with pytest.raises(GalleryError, match="two plugins publish to 'ftp://'"):
        publisher_factories(plugin_manager(Ftp(), OtherFtp()))


def test_hook_gallery_image_processors(two: Path, out: Path) -> None:
    import processor_functions

    def probe() -> ProcessorInfo:
        return ProcessorInfo(version="7", formats=frozenset({"webp", "jpeg"}))

    class Recorder:
        @hookimpl
        def gallery_image_processors(self):
            return [ImageProcessor("recorder", "processor_functions:recording_pillow", probe)]

    build_gallery(two, out)  # Pillow, the default
    by_pillow = read_manifest(out)["images"][0]["derivatives"]
    processor_functions.JOBS.clear()
    result = run_cli(["build", two, "-o", out, "-j", "1", "--processor", "recorder"], Recorder())
    assert result.exit_code == 0, result.output
    assert sorted(Path(j.source_path).name for j in processor_functions.JOBS) == ["a.jpg", "b.jpg"]
    assert {j.processor for j in processor_functions.JOBS} == {
        "processor_functions:recording_pillow"
    }
    by_recorder = read_manifest(out)["images"][0]["derivatives"]
    assert all(by_recorder[k] != by_pillow[k] for k in by_pillow)  # its version is in the key

    def unavailable() -> ProcessorInfo:
        raise ProcessorUnavailable("pixie is not installed; pip install pixie")

    class Missing:
        @hookimpl
        def gallery_image_processors(self):
            return [ImageProcessor("pixie", "processor_functions:recording_pillow", unavailable)]

    result = run_cli(["build", two, "-o", out, "--processor", "pixie"], Missing())
    assert result.exit_code == 1
    assert "Error: pixie is not installed; pip install pixie" in result.output


def test_hook_gallery_settings(two: Path, out: Path) -> None:
    from gallery_builder.plugin_settings import Setting, integer

    class Stamp:
        @hookimpl
        def gallery_settings(self):
            return {"text": Setting("©"), "size": Setting(3, check=integer(min=1, max=9))}

        @hookimpl
        def gallery_manifest_fields(self, site, config):
            return {"stamp": dict(config.plugins["stamp"])}

    build_gallery(two, out, ("stamp", Stamp()))
    assert read_manifest(out)["stamp"] == {"text": "©", "size": 3}  # the defaults
    (two / "gallery.toml").write_text('[plugins.stamp]\ntext = "me"\n')
    build_gallery(two, out, ("stamp", Stamp()))
    assert read_manifest(out)["stamp"] == {"text": "me", "size": 3}
    (two / "gallery.toml").write_text("[plugins.stamp]\nsize = 10\n")
    result = run_cli(["build", two, "-o", out], ("stamp", Stamp()))
    assert result.exit_code == 2
    assert result.output.endswith(
        "gallery.toml:2: [plugins.stamp] size = 10 is not allowed; expected a whole number "
        "from 1 to 9\n"
    )


# --- Pipeline ------------------------------------------------------------------------------


def test_hook_gallery_scan(two: Path, out: Path, tmp_path: Path) -> None:
    elsewhere = pictures.jpeg(tmp_path / "elsewhere" / "far.jpg")
    info = elsewhere.stat()

    class ExtraSource:
        @hookimpl
        def gallery_scan(self, config, exclude):
            return [Source(str(elsewhere), "Extra/far.jpg", info.st_size, info.st_mtime_ns)]

    build_gallery(two, out, ExtraSource())
    sources = {i["source"] for i in read_manifest(out)["images"]}
    assert sources == {"a.jpg", "Sub/b.jpg", "Extra/far.jpg"}
    assert (out / "extra" / "index.html").is_file()


def test_hook_gallery_identify(two: Path, out: Path) -> None:
    pictures.jpeg(two / "private-me.jpg")

    class HidePrivate:
        @hookimpl
        def gallery_identify(self, source, config):
            return "" if "private" in source.relpath else None

    result = build_gallery(two, out, HidePrivate())
    assert {i["source"] for i in read_manifest(out)["images"]} == {"a.jpg", "Sub/b.jpg"}
    # a file that names itself .jpg but "is not a picture" is reported, never silently lost
    assert result.skipped == [("private-me.jpg", "not a picture (unknown content)")]


def test_hook_gallery_fingerprint(two: Path, out: Path) -> None:
    class Salted:
        @hookimpl
        def gallery_fingerprint(self, source, config):
            return hashlib.md5(b"salt" + Path(source.path).read_bytes()).hexdigest()

    build_gallery(two, out, Salted())
    image = next(i for i in read_manifest(out)["images"] if i["source"] == "a.jpg")
    assert image["md5"] == hashlib.md5(b"salt" + (two / "a.jpg").read_bytes()).hexdigest()


def test_hook_gallery_read_metadata(two: Path, out: Path) -> None:
    class Rating:
        @hookimpl(wrapper=True)
        def gallery_read_metadata(self, source, config):
            metadata = yield
            return dataclasses.replace(metadata, caption="rated", extra={"rating": 5})

    build_gallery(two, out, Rating())
    images = read_manifest(out)["images"]
    assert all(i["extra"] == {"rating": 5} and i["caption"] == "rated" for i in images)
    assert (images[0]["width"], images[0]["height"]) == (320, 240)  # the built-in answer kept


def test_hook_gallery_derivative_specs(two: Path, out: Path) -> None:
    class Square:
        @hookimpl
        def gallery_derivative_specs(self, source, metadata, config):
            return [DerivativeSpec("square", "thumbnail", (100, 100), "jpeg", 80, keep_exif=False)]

    build_gallery(two, out, Square())
    image = read_manifest(out)["images"][0]
    assert image["sizes"]["square.jpeg"] == [100, 100]
    assert re.fullmatch(r"a\.square\.[0-9a-f]{8}\.jpg", image["derivatives"]["square.jpeg"])
    assert "thumb.webp" in image["derivatives"]  # the built-in specs are still there

    class Clash:
        @hookimpl
        def gallery_derivative_specs(self, source, metadata, config):
            return [DerivativeSpec("thumb", "thumbnail", (10, 10), "jpeg", 80)]

    with pytest.raises(GalleryError, match=r"share a key: thumb\.jpeg"):
        build_gallery(two, out, Clash(), force=True)


def test_hook_gallery_image_steps(two: Path, out: Path) -> None:
    class RedCorner:
        @hookimpl
        def gallery_image_steps(self, source, metadata, config):
            return [ImageStep("step_functions:red_rectangle", {"fraction": 0.25}, version="1")]

    build_gallery(two, out)
    plain = read_manifest(out)["images"][0]["derivatives"]
    build_gallery(two, out, RedCorner())
    image = read_manifest(out)["images"][0]
    assert set(image["derivatives"]) == set(plain)
    for key, path in image["derivatives"].items():
        assert path != plain[key]  # the step is part of each image's cache key
        with Image.open(out / path) as im:
            rgb = im.convert("RGB")
            assert rgb.getpixel((rgb.width - 2, rgb.height - 2))[0] > 200  # drawn red
            assert rgb.getpixel((rgb.width - 2, 1))[0] < 60  # the blue corner left alone

    class Broken:
        @hookimpl
        def gallery_image_steps(self, source, metadata, config):
            return [ImageStep("step_functions:fail")]

    result = run_cli(["build", two, "-o", out, "-j", "1"], Broken())
    assert result.exit_code == 1
    assert "plugin 'Broken' failed in gallery_image_steps on picture 'a.jpg'" in result.output
    assert "Traceback" not in result.output


def test_hook_gallery_executor(two: Path, out: Path) -> None:
    class CountingThreads(ThreadPoolExecutor):
        submitted = 0
        shut = False

        def submit(self, fn, /, *args, **kwargs):
            CountingThreads.submitted += 1
            return super().submit(fn, *args, **kwargs)

        def shutdown(self, wait=True, *, cancel_futures=False):
            CountingThreads.shut = True
            super().shutdown(wait, cancel_futures=cancel_futures)

    class Threads:
        @hookimpl
        def gallery_executor(self, config, jobs):
            return CountingThreads(max_workers=2)

    result = build_gallery(two, out, Threads(), jobs=None)
    assert result.made == 2
    assert CountingThreads.submitted == 2 and CountingThreads.shut


def test_hook_gallery_album_tree(two: Path, out: Path) -> None:
    class Flat:
        @hookimpl
        def gallery_album_tree(self, pictures, config):
            for p in pictures:
                p.album_path = ""
            return Album(path="", title="Everything", source_relpath="", pictures=pictures)

    build_gallery(two, out, Flat())
    root = read_manifest(out)["albums"][0]
    assert root["title"] == "Everything" and len(root["pictures"]) == 2
    assert root["albums"] == [] and not (out / "sub" / "index.html").exists()


def test_hook_gallery_static_folders(two: Path, out: Path, tmp_path: Path) -> None:
    static = tmp_path / "plugin-static"
    static.mkdir()
    (static / "map.css").write_text(".map { height: 20rem }\n")
    (static / "style.css").write_text("a plugin cannot replace the theme's own file\n")
    theme = tmp_path / "mine"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "album.html").write_text(
        '{% extends "default:album.html" %}'
        '{% block head %}<link rel="stylesheet" href="{{ static("map.css") }}">{% endblock %}'
    )

    class Map:
        @hookimpl
        def gallery_static_folders(self):
            return [static]

    build_gallery(two, out, Map(), theme=str(theme))
    files = read_manifest(out)["files"]
    (css,) = [p for p in files if p.startswith("_static/map.")]
    assert files[css]["content_type"] == "text/css; charset=utf-8"
    assert f'href="../{css}"' in (out / "sub" / "index.html").read_text()
    (style,) = [p for p in files if p.startswith("_static/style.")]
    assert b"cannot replace" not in (out / style).read_bytes()  # the theme's file wins


def test_hook_gallery_pages(two: Path, out: Path, tmp_path: Path) -> None:
    theme = tmp_path / "mine"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "about.html").write_text(
        '{% extends "base.html" %}{% block main %}About {{ page.context.who }}'
        '<a href="{{ home }}">home</a>{% endblock %}'
    )

    class About:
        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("info/about.html", "about.html", context={"who": "us"})]

    build_gallery(two, out, About(), theme=str(theme))
    html = (out / "info" / "about.html").read_text()
    assert 'About us<a href="../">home</a>' in html
    manifest = read_manifest(out)
    assert manifest["files"]["info/about.html"]["content_type"] == "text/html; charset=utf-8"


def test_hook_gallery_template_folders(two: Path, out: Path, tmp_path: Path) -> None:
    templates = tmp_path / "plugin-templates"
    templates.mkdir()
    (templates / "about.html").write_text("plugin about {{ site.title }}")
    (templates / "credits.html").write_text("plugin credits")
    theme = tmp_path / "mine"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "credits.html").write_text("the theme's credits")

    class About:
        @hookimpl
        def gallery_template_folders(self):
            return [templates]

        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("about.html", "about.html"), Page("credits.html", "credits.html")]

    build_gallery(two, out, About(), theme=str(theme))
    assert (out / "about.html").read_text() == "plugin about photos"
    assert (out / "credits.html").read_text() == "the theme's credits"  # a theme overrides


def test_hook_gallery_jinja_environment(two: Path, out: Path, tmp_path: Path) -> None:
    templates = tmp_path / "plugin-templates"
    templates.mkdir()
    (templates / "stats.html").write_text(
        "{{ site.title|shout }} {{ build_pid() }} {{ render_pid() }} "
        "{{ 'yes' if 4 is even_count else 'no' }}"
    )

    class Stats:
        @hookimpl
        def gallery_template_folders(self):
            return [templates]

        @hookimpl
        def gallery_jinja_environment(self, environment, config):
            environment.filters["shout"] = lambda text: text.upper() + "!"
            environment.globals["build_pid"] = os.getpid  # called when the page renders
            environment.globals["render_pid"] = lambda: os.getpid()
            environment.tests["even_count"] = lambda n: n % 2 == 0

        @hookimpl
        def gallery_pages(self, site, config):
            return [Page("stats.html", "stats.html")]

    build_gallery(two, out, Stats())
    shouted, pid, render_pid, even = (out / "stats.html").read_text().split()
    assert (shouted, even) == ("PHOTOS!", "yes")
    # rendered in a worker forked for the page, which inherits what the hook added
    assert pid == render_pid and int(pid) != os.getpid()


def test_hook_gallery_template_context(two: Path, out: Path, tmp_path: Path) -> None:
    theme = tmp_path / "mine"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "album.html").write_text(
        '{% extends "default:album.html" %}'
        "{% block main %}<p class=greet>{{ greeting }} {{ album.title }}</p>"
        "{{ super() }}{% endblock %}"
    )

    class Greeting:
        @hookimpl
        def gallery_template_context(self, page, site, config):
            return {"greeting": "merhaba"}

    build_gallery(two, out, Greeting(), theme=str(theme))
    page = (out / "sub" / "index.html").read_text()
    assert "<p class=greet>merhaba Sub</p>" in page
    assert "<h1>Sub</h1>" in page  # the default album template, extended through "default:"


def test_hook_gallery_render_page(two: Path, out: Path) -> None:
    class PlainError:
        @hookimpl
        def gallery_render_page(self, page, context, environment):
            return "gone\n" if page.path == "error.html" else None

    build_gallery(two, out, PlainError())
    assert (out / "error.html").read_text() == "gone\n"
    assert "<h1>photos</h1>" in (out / "index.html").read_text()


def test_hook_gallery_site_files(two: Path, out: Path) -> None:
    class Downloads:
        @hookimpl
        def gallery_site_files(self, site, config):
            listing = "\n".join(sorted(p.source.relpath for p in site.pictures)).encode()
            return [
                ExtraFile("downloads/pictures.txt", data=listing),
                ExtraFile("downloads/pictures.dat", data=b"\x00\xff", content_type="x-a/b"),
            ]

    build_gallery(two, out, Downloads())
    files = read_manifest(out)["files"]
    assert (out / "downloads" / "pictures.txt").read_text() == "Sub/b.jpg\na.jpg"
    assert files["downloads/pictures.txt"]["content_type"] == "text/plain; charset=utf-8"
    assert files["downloads/pictures.dat"]["content_type"] == "x-a/b"
    assert files["downloads/pictures.dat"]["md5"] == hashlib.md5(b"\x00\xff").hexdigest()


def test_hook_gallery_manifest_fields(two: Path, out: Path) -> None:
    class Generator:
        @hookimpl
        def gallery_manifest_fields(self, site, config):
            return {"generator": {"pictures": len(site.pictures)}}

    build_gallery(two, out, Generator())
    assert read_manifest(out)["generator"] == {"pictures": 2}

    class Clobber:
        @hookimpl
        def gallery_manifest_fields(self, site, config):
            return {"files": {}}

    result = run_cli(["build", two, "-o", out], Clobber())
    assert result.exit_code == 1
    assert "core field 'files'" in result.output and "Traceback" not in result.output


def test_blocking_a_required_builtin_is_a_clear_error(two: Path, out: Path) -> None:
    result = run_cli(["--block", "executor", "build", two, "-o", os.fspath(out)])
    assert result.exit_code == 1
    assert "no active plugin answers gallery_executor" in result.output


# --- Publishing ----------------------------------------------------------------------------


def test_hook_gallery_before_publish(site: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"

    calls: list[tuple[str, int, str]] = []

    class NoFridays:
        @hookimpl
        def gallery_before_publish(self, publisher, prefix, plan, site):
            calls.append((prefix, len(plan.uploads), Path(site).name))
            raise GalleryError("no publishing on Fridays")

    refused = run_cli(["publish", www.as_uri(), "--site", site], NoFridays())
    assert refused.exit_code == 1
    assert refused.output == "Error: no publishing on Fridays\n"
    assert not www.exists() or not any(www.rglob("*"))  # nothing sent: not even the lease
    files = len(read_manifest(site)["files"])
    assert calls == [("photos", files, site.name)]

    assert (
        run_cli(["publish", www.as_uri(), "--site", site, "--dry-run"], NoFridays()).exit_code == 0
    )
    assert run_cli(["publish", www.as_uri(), "--site", site]).exit_code == 0
    again = run_cli(["publish", www.as_uri(), "--site", site], NoFridays())
    assert again.exit_code == 0 and "nothing sent" in again.output  # a no-op is not asked
    assert len(calls) == 1  # nor a dry run


def test_hook_gallery_after_publish(site: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"

    results: list[tuple[str, int, bool]] = []

    class Announce:
        @hookimpl
        def gallery_after_publish(self, publisher, prefix, result):
            results.append((prefix, len(result.uploaded), result.committed))
            assert publisher.read(f"{prefix}/manifest.json") is not None  # live already
            return [f"told the family about {publisher.location}{prefix}/"]

    done = run_cli(["publish", www.as_uri(), "--site", site], Announce())
    assert done.exit_code == 0, done.output
    assert f"warning: told the family about {www.as_uri()}/photos/\n" in done.output
    files = len(read_manifest(site)["files"])
    assert results == [("photos", files, True)]
    again = run_cli(["publish", www.as_uri(), "--site", site], Announce())
    assert "told the family" not in again.output  # nothing sent: nothing to tell
