"""``[publish]`` settings: ``gallery build PHOTOS && gallery publish`` with no arguments
publishes where gallery.toml says, to a folder and to S3 (a real moto server); the build is
made for the target's prefix, so its error page links from where it is published; options on
the command line win; the options a publisher declares reach its factory (a real plugin, which
declares the S3 publisher's options, records them) only when given or set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pictures
import pytest
from conftest import links_of, read_manifest
from gallery_builder.plugins.file_publisher import FilePublisher
from gallery_builder.plugins.s3 import s3_publisher
from s3env import MotoServer

from gallery_builder import hookimpl
from gallery_builder.errors import SettingError
from gallery_builder.publish_settings import same_place
from gallery_builder.testing import build_gallery, run_cli

BUCKET = "my-gallery"


@pytest.fixture
def photos(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path/photos`` with two pictures; the current folder is ``tmp_path``, so that
    ``gallery build photos`` writes ``_site`` there and ``gallery publish`` finds it."""
    folder = tmp_path / "photos"
    pictures.jpeg(folder / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(folder / "Trip" / "b.jpg", taken="2024:01:02 10:00:00")
    monkeypatch.chdir(tmp_path)
    return folder


def settings(photos: Path, publish: str, gallery: str = 'name = "trip"\n') -> Path:
    path = photos / "gallery.toml"
    path.write_text(f"[gallery]\n{gallery}\n[publish]\n{publish}\n", encoding="utf-8")
    return path


def build(*plugins: Any) -> None:
    result = run_cli(["build", "photos", "-j", "1", "-q"], *plugins)
    assert result.exit_code == 0, result.output


def page_links(html: str) -> list[str]:
    """The links of a page that leave it (not its own ``#fragment`` links)."""
    links = [link for link in links_of(html) if not link.startswith("#")]
    assert links
    return links


def error_page_links(site: Path) -> list[str]:
    return page_links((site / "error.html").read_text(encoding="utf-8"))


class Recorder:
    """A third-party publisher plugin for ``rec://NAME``: records what its factory is given,
    and publishes into the folder ``root/NAME`` (a real FilePublisher)."""

    def __init__(self, root: Path):
        self.root = root
        self.calls: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def gallery_publishers(self) -> dict[str, Any]:
        def factory(target: str, **options: Any) -> FilePublisher:
            self.calls.append((target, options))
            return FilePublisher(self.root / urlsplit(target).netloc)

        def check_target(target: str) -> None:
            if urlsplit(target).netloc == "nowhere":
                raise SettingError("rec://nowhere is where nothing can go; write rec://NAME")

        factory.check_target = check_target  # type: ignore[attr-defined]
        # the S3 publisher's options, declared alike (so shared with it), and their [publish] keys
        for name in ("options", "option_commands", "publish_keys", "publish_place_keys"):
            setattr(factory, name, getattr(s3_publisher, name))
        return {"rec": factory}


# --- No arguments --------------------------------------------------------------------------


def test_build_then_publish_with_no_arguments_to_a_folder(photos: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    settings(photos, f'target = "{www.as_uri()}"')
    build()
    result = run_cli(["publish"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert read_manifest(www / "trip")["files"] == read_manifest(tmp_path / "_site")["files"]
    # the settings record is never published
    assert not [p for p in www.rglob("*") if p.name == "settings.json" or ".gallery" in p.parts]


def test_build_then_publish_with_no_arguments_to_s3(
    photos: Path, tmp_path: Path, s3, aws_names, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the only thing not in settings: moto answering for AWS's own host names
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_names("eu-west-1"))
    settings(photos, f'target = "s3://{BUCKET}/g"\nregion = "eu-west-1"')
    build()
    result = run_cli(["publish"])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-west-1"
    live = json.loads(s3.get_object(Bucket=BUCKET, Key="g/manifest.json")["Body"].read())
    assert live["files"] == read_manifest(tmp_path / "_site")["files"]
    assert live["base_path"] == "/g/"
    # the mistake of the issue cannot happen: the error page links from where it is published
    error = s3.get_object(Bucket=BUCKET, Key="g/error.html")["Body"].read().decode()
    assert all(link.startswith("/g/") for link in page_links(error)), page_links(error)
    assert "gallery: http://my-gallery.s3-website-eu-west-1.amazonaws.com/g/" in result.output


def test_the_error_page_is_built_for_the_targets_prefix(photos: Path, tmp_path: Path) -> None:
    settings(photos, 'target = "s3://b-u-c/g"')
    build()
    site = tmp_path / "_site"
    assert read_manifest(site)["base_path"] == "/g/"
    links = error_page_links(site)
    assert all(link.startswith("/g/") for link in links), links
    assert any(link.startswith("/g/_static/") for link in links)


def test_a_domain_gives_absolute_link_previews(photos: Path, tmp_path: Path) -> None:
    settings(photos, 'target = "s3://b-u-c/g"\ncdn = "cloudfront"\ndomain = "photos.example.com"')
    build()
    index = (tmp_path / "_site" / "index.html").read_text(encoding="utf-8")
    assert '<meta property="og:url" content="https://photos.example.com/g/">' in index
    assert 'og:image" content="https://photos.example.com/g/' in index
    assert all(link.startswith("/g/") for link in error_page_links(tmp_path / "_site"))


def test_a_base_url_that_disagrees_with_the_target_stops_the_build(
    photos: Path, tmp_path: Path
) -> None:
    path = settings(photos, 'target = "s3://b-u-c/g"', gallery='base_url = "/trip/"\n')
    result = run_cli(["build", "photos", "-j", "1"])
    assert result.exit_code == 2
    assert result.output.startswith(f"Error: {Path('photos/gallery.toml')}:2: ")
    assert '[publish] target = "s3://b-u-c/g" (line 5) publishes it at /g/' in result.output
    assert not (tmp_path / "_site").exists()
    assert path.is_file()


def test_a_setting_edited_since_the_build_applies(photos: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    path = settings(photos, f'target = "{first.as_uri()}"')
    build()
    path.write_text(path.read_text().replace(first.as_uri(), second.as_uri()))
    result = run_cli(["publish"])
    assert result.exit_code == 0, result.output
    assert (second / "trip" / "manifest.json").is_file() and not first.exists()


def test_the_settings_file_given_to_the_build_is_read_again(photos: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    other = tmp_path / "other.toml"
    other.write_text(f'[publish]\ntarget = "{www.as_uri()}"\n')
    assert run_cli(["build", "photos", "--config", other, "-j", "1"]).exit_code == 0
    result = run_cli(["publish"])
    assert result.exit_code == 0, result.output
    assert (www / "photos" / "manifest.json").is_file()


def test_a_target_on_the_command_line_wins(photos: Path, tmp_path: Path) -> None:
    configured, given = tmp_path / "configured", tmp_path / "given"
    settings(photos, f'target = "{configured.as_uri()}"')
    build()
    result = run_cli(["publish", given.as_uri()])
    assert result.exit_code == 0, result.output
    assert (given / "trip" / "manifest.json").is_file() and not configured.exists()


def test_no_target_anywhere_is_a_usage_error(photos: Path, tmp_path: Path) -> None:
    build()  # no gallery.toml
    result = run_cli(["publish"])
    assert result.exit_code == 2
    assert result.output.startswith("Error: no TARGET given, and the site's settings set no ")
    assert "[publish] target" in result.output
    assert "give one (gallery publish s3://bucket/prefix), or set [publish] target" in result.output
    assert "Traceback" not in result.output


def test_no_target_in_the_settings_is_a_usage_error(photos: Path) -> None:
    settings(photos, 'region = "eu-west-1"')
    build()
    result = run_cli(["publish"])
    assert result.exit_code == 2
    assert "no TARGET given, and the site's settings set no [publish] target" in result.output


def test_a_settings_file_gone_since_the_build(photos: Path, tmp_path: Path) -> None:
    www = tmp_path / "www"
    other = tmp_path / "other.toml"
    other.write_text(f'[publish]\ntarget = "{www.as_uri()}"\n')
    assert run_cli(["build", "photos", "--config", other, "-j", "1"]).exit_code == 0
    other.unlink()
    result = run_cli(["publish"])
    assert result.exit_code == 2
    assert f"its settings file {other} is gone" in result.output
    given = run_cli(["publish", www.as_uri()])  # a TARGET still publishes
    assert given.exit_code == 0, given.output


def test_a_site_without_its_settings_record_needs_a_target(photos: Path, tmp_path: Path) -> None:
    settings(photos, f'target = "{(tmp_path / "www").as_uri()}"')
    build()
    (tmp_path / "_site" / ".gallery" / "settings.json").unlink()
    result = run_cli(["publish"])
    assert result.exit_code == 2
    assert "holds no record of its settings (build it again)" in result.output


def test_a_setting_made_wrong_since_the_build_is_a_usage_error(
    photos: Path, tmp_path: Path
) -> None:
    path = settings(photos, f'target = "{(tmp_path / "www").as_uri()}"')
    build()
    path.write_text(path.read_text() + 'cdn = "akamai"\n')
    result = run_cli(["publish"])
    assert result.exit_code == 2
    assert f'{path.resolve()}:6: [publish] cdn = "akamai" is not allowed' in result.output
    assert not (tmp_path / "www").exists()


def test_a_target_changed_since_the_build_warns_to_build_again(
    photos: Path, tmp_path: Path, s3_server: MotoServer, s3
) -> None:
    path = settings(photos, f'target = "s3://{BUCKET}/g"')
    build()
    path.write_text(path.read_text().replace("/g", "/h"))
    result = run_cli(["publish", "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 0, result.output
    assert "warning: the site was built to be served at /g/ but goes to /h/" in result.stderr
    assert (
        f"[publish] target ({path.resolve()}:5) changed since the build: build the site again"
        in (result.stderr)
    )
    assert s3.head_object(Bucket=BUCKET, Key="h/index.html")


def test_publishing_elsewhere_points_at_the_publish_target(
    photos: Path, s3_server: MotoServer
) -> None:
    settings(photos, f'target = "s3://{BUCKET}/g"')
    build()
    result = run_cli(["publish", f"s3://{BUCKET}/other", "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 0, result.output
    assert "warning: the site was built to be served at /g/ but goes to /other/" in result.stderr
    assert f'set [publish] target = "s3://{BUCKET}/other" in gallery.toml' in result.stderr
    assert '(or [gallery] base_url = "/other/") and build again' in result.stderr


def test_changing_where_it_is_published_rebuilds_only_what_links_from_there(
    photos: Path, tmp_path: Path
) -> None:
    path = settings(photos, 'target = "s3://b-u-c/g"\nregion = "eu-west-1"')
    site = tmp_path / "_site"
    build_gallery(photos, site)
    before = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    path.write_text(path.read_text().replace("eu-west-1", "eu-west-3"))
    assert build_gallery(photos, site).written == []  # a region shapes no file of the site:
    assert {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()} == before  # a no-op
    path.write_text(path.read_text().replace("/g", "/h"))
    written = build_gallery(photos, site).written
    assert "error.html" in written and not any(w.endswith(".jpg") for w in written)
    assert all(link.startswith("/h/") for link in error_page_links(site))


# --- What reaches the publisher factory -------------------------------------------------------


def test_without_cdn_options_the_factory_gets_none_of_them(photos: Path, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    build()
    result = run_cli(["publish", "rec://one"], recorder)
    assert result.exit_code == 0, result.output
    assert recorder.calls == [("rec://one", {})]


def test_the_cdn_options_reach_the_factory(photos: Path, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    build()
    args = ["--cdn", "cloudfront", "--domain", "photos.example.com", "--wait", "--purge"]
    result = run_cli(["publish", "rec://one", *args, "--region", "eu-west-3"], recorder)
    assert result.exit_code == 0, result.output
    assert recorder.calls[0][1] == {
        "region": "eu-west-3",
        "cdn": "cloudfront", "domain": "photos.example.com", "wait": True, "purge": True,
    }  # fmt: skip


def test_the_settings_reach_the_factory(photos: Path, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    settings(
        photos,
        'target = "rec://one"\ncdn = "cloudfront"\ndomain = "photos.example.com"\n'
        'region = "eu-west-3"\nprofile = "work"\nwait = true',
    )
    build(recorder)
    result = run_cli(["publish"], recorder)
    assert result.exit_code == 0, result.output
    assert recorder.calls == [
        ("rec://one", {
            "region": "eu-west-3", "profile": "work",
            "cdn": "cloudfront", "domain": "photos.example.com", "wait": True,
        })
    ]  # fmt: skip
    assert (tmp_path / "rec" / "one" / "trip" / "manifest.json").is_file()


def test_the_build_checks_the_target_with_its_publishers_check(photos: Path, tmp_path: Path):
    recorder = Recorder(tmp_path / "rec")
    path = settings(photos, 'target = "rec://nowhere/x"')
    result = run_cli(["build", "photos", "-j", "1"], recorder)
    assert result.exit_code == 2
    assert result.output == (
        f'Error: {Path("photos/gallery.toml")}:5: [publish] target = "rec://nowhere/x" is not '
        "allowed; rec://nowhere is where nothing can go; write rec://NAME\n"
    )
    assert recorder.calls == []  # checked, not made: no factory call at build time
    path.write_text(path.read_text().replace("nowhere", "somewhere"))
    build(recorder)


def test_options_override_the_settings(photos: Path, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    settings(
        photos,
        'target = "rec://one"\ncdn = "cloudfront"\nregion = "eu-west-3"\nprofile = "work"\n'
        "wait = true",
    )
    build(recorder)
    args = ["--cdn", "none", "--no-wait", "--region", "us-west-2", "--profile", "home"]
    result = run_cli(["publish", *args], recorder)
    assert result.exit_code == 0, result.output
    assert recorder.calls[0][1] == {
        "region": "us-west-2", "profile": "home", "cdn": "none", "wait": False,
    }  # fmt: skip


def test_the_cdn_settings_stay_with_their_bucket(photos: Path, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    settings(photos, 'target = "rec://one"\ncdn = "cloudfront"\ndomain = "photos.example.com"')
    build(recorder)
    result = run_cli(["publish", "rec://two", "--dry-run"], recorder)
    assert result.exit_code == 0, result.output
    assert "cdn" not in recorder.calls[0][1] and "domain" not in recorder.calls[0][1]
    assert "not using [publish] cdn, [publish] domain" in result.output
    assert "they are for rec://one, and this publish goes to rec://two" in result.output
    same = run_cli(["publish", "rec://one/other", "--dry-run"], recorder)
    assert recorder.calls[1][1]["cdn"] == "cloudfront"  # another prefix of the same bucket
    assert "not using" not in same.output


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("s3://my-bucket/g", "my-bucket", True),
        ("s3://my-bucket/g", "S3://my-bucket/h", True),
        ("s3://my-bucket", "s3://other-bucket", False),
        ("s3://www", "file:///www", False),
        ("file:///srv/www/", "file:///srv/www", True),
        ("file:///srv/www", "file:///srv/WWW", False),
        ("file:///srv/a", "file:///srv/b", False),
    ],
)
def test_which_targets_share_a_bucket(a: str, b: str, same: bool) -> None:
    assert same_place(a, b) is same and same_place(b, a) is same


def test_dry_run_says_where_each_setting_came_from(photos: Path, tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec")
    path = settings(photos, 'target = "rec://one"\ncdn = "cloudfront"\nregion = "eu-west-3"')
    build(recorder)
    result = run_cli(["publish", "--dry-run", "--region", "us-west-2", "--no-wait"], recorder)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "using wait no (--no-wait)" in lines
    assert f"using target rec://one ({path.resolve()}:5)" in lines
    assert "using region us-west-2 (--region)" in lines
    assert f"using cdn cloudfront ({path.resolve()}:6)" in lines
    assert (
        "using target rec://two (TARGET)"
        in run_cli(["publish", "rec://two", "--dry-run"], recorder).output.splitlines()
    )


# --- A file target has no CDN, nor any S3 option --------------------------------------------


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--cdn", "cloudfront"], "--cdn"),
        (["--domain", "photos.example.com"], "--domain"),
        (["--cdn", "none"], "--cdn"),
        (["--no-wait"], "--no-wait"),
        (["--purge"], "--purge"),
        (["--region", "x"], "--region"),
        (["--endpoint-url", "http://localhost:1"], "--endpoint-url"),
    ],
)
def test_a_file_target_refuses_the_s3_options(
    photos: Path, tmp_path: Path, args: list[str], named: str
):
    build()
    www = tmp_path / "www"
    result = run_cli(["publish", www.as_uri(), *args])
    assert result.exit_code == 2
    assert result.output == (
        f"Error: {named} is not an option of file:// targets: it is for s3:// (plugin "
        "'s3_publisher'); leave it out, or publish to such a target\n"
    )
    assert not www.exists()


def test_the_s3_publisher_takes_the_new_options(photos: Path, s3_server: MotoServer, s3) -> None:
    build()
    result = run_cli(["publish", f"s3://{BUCKET}", "--endpoint-url", s3_server.endpoint,
                      "--cdn", "none", "--no-wait", "--purge"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert s3.head_object(Bucket=BUCKET, Key="photos/index.html")


# --- gallery verify with no arguments -------------------------------------------------------


def test_verify_with_no_arguments_checks_where_the_settings_publish(
    photos: Path, tmp_path: Path
) -> None:
    www = tmp_path / "www"
    settings(photos, f'target = "{www.as_uri()}"')
    build()
    assert run_cli(["publish"]).exit_code == 0
    clean = run_cli(["verify"])
    assert clean.exit_code == 0, clean.output
    (www / "trip" / "index.html").unlink()  # the gallery's prefix is its name, as publish chose
    damaged = run_cli(["verify"])
    assert damaged.exit_code == 1, damaged.output
    assert "index.html" in damaged.output


def test_verify_with_no_arguments_and_no_target_is_a_usage_error(photos: Path) -> None:
    build()  # no gallery.toml
    result = run_cli(["verify"])
    assert result.exit_code == 2
    assert "gallery verify s3://bucket/prefix" in result.output
    assert "or give a URL to check" in result.output
    assert "Traceback" not in result.output


# --- private --------------------------------------------------------------------------------


def test_private_reaches_the_factory_from_the_settings_and_no_private_wins(
    photos: Path, tmp_path: Path
) -> None:
    recorder = Recorder(tmp_path / "rec")
    settings(photos, 'target = "rec://one"\ncdn = "cloudfront"\nprivate = true')
    build(recorder)
    result = run_cli(["publish", "--dry-run"], recorder)
    assert result.exit_code == 0, result.output
    assert recorder.calls[-1][1]["private"] is True
    assert "using private yes (" in result.output and "gallery.toml:7)" in result.output
    result = run_cli(["publish", "--no-private", "--dry-run"], recorder)
    assert recorder.calls[-1][1]["private"] is False
    assert "using private no (--no-private)" in result.output


@pytest.mark.parametrize(
    ("publish", "line", "message"),
    [
        (
            'target = "s3://b/trip"\nprivate = "yes"',
            6,
            '[publish] private = "yes" is not allowed; expected true or false',
        ),
        (
            'target = "s3://b/trip"\ncdn = "none"\nprivate = true',
            7,
            "[publish] private = true needs CloudFront (S3 website hosting serves every file to "
            'anyone): set cdn = "cloudfront" (line 6 says "none"), or remove private',
        ),
    ],
)
def test_a_wrong_private_setting_names_the_file_and_line(
    photos: Path, publish: str, line: int, message: str
) -> None:
    settings(photos, publish)
    result = run_cli(["build", "photos", "-j", "1"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {Path('photos/gallery.toml')}:{line}: ")
    assert message in result.output


def test_private_needs_cloudfront_and_an_s3_folder_before_any_request(
    photos: Path, tmp_path: Path, cdn_proxy: Any
) -> None:
    build()
    result = run_cli(["publish", f"s3://{BUCKET}/trip", "--private",
                      "--endpoint-url", cdn_proxy.url])  # fmt: skip
    assert result.exit_code == 2
    assert result.output.startswith("Error: a private gallery needs CloudFront (--cdn cloudfront)")
    result = run_cli(["publish", f"s3://{BUCKET}", "-d", "", "--cdn", "cloudfront", "--private",
                      "--endpoint-url", cdn_proxy.url])  # fmt: skip
    assert result.exit_code == 2
    assert f"a private gallery needs its own folder: publish to s3://{BUCKET}/NAME" in (
        result.output
    )
    assert cdn_proxy.requests == []
    www = tmp_path / "www"
    result = run_cli(["publish", www.as_uri(), "--private"])
    assert result.exit_code == 2 and "--private is not an option of file://" in result.output
    assert not www.exists()
