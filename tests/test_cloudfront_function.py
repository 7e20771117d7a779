"""The viewer-request CloudFront Function (plugins/cloudfront/viewer_request.js), run under Node
with the event objects CloudFront passes (version 1.0: context, viewer, a request with method,
uri, querystring/headers/cookies as ``{value, multiValue}`` fields) through
``tests/cloudfront_harness.js``, which holds the file as CloudFront does: a script defining
``handler``, strict, in a context with nothing of Node's. Node is part of the test environment
(the browser tests need it too): without it these tests fail, they do not skip.

CloudFront hands a function the query string as the viewer sent it (percent-encoded); the
console's test events are often written decoded. The redirect must come out right for both.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from gallery_builder.plugins.cloudfront_function import (
    FUNCTION_RUNTIME,
    MAX_FUNCTION_SIZE,
    function_code,
)

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = ROOT / "plugins" / "cloudfront" / "viewer_request.js"
HARNESS = Path(__file__).resolve().parent / "cloudfront_harness.js"


def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.fail(
            "these tests run the CloudFront Function under Node, and there is no `node` on "
            "PATH: install Node.js (`apt-get install -y nodejs`), as the browser tests need"
        )
    return found


def querystring(raw: str) -> dict[str, Any]:
    """CloudFront's querystring object for a raw query (without '?'): one field per name,
    values as sent, a repeated name with all its values in ``multiValue``."""
    fields: dict[str, Any] = {}
    for part in raw.split("&") if raw else ():
        name, _, value = part.partition("=")
        if name in fields:
            field = fields[name]
            field.setdefault("multiValue", [{"value": field["value"]}])
            field["multiValue"].append({"value": value})
        else:
            fields[name] = {"value": value}
    return fields


def event(uri: str, query: str | dict[str, Any] = "", method: str = "GET") -> dict[str, Any]:
    """A viewer-request event as CloudFront passes it (the documented example's shape)."""
    return {
        "version": "1.0",
        "context": {
            "distributionDomainName": "d111111abcdef8.cloudfront.net",
            "distributionId": "EDFDVBD6EXAMPLE",
            "eventType": "viewer-request",
            "requestId": "EXAMPLEntjQpEXAMPLE_SG5Z-EXAMPLEPmPfEXAMPLEu3EqEXAMPLE==",
        },
        "viewer": {"ip": "198.51.100.11"},
        "request": {
            "method": method,
            "uri": uri,
            "querystring": querystring(query) if isinstance(query, str) else query,
            "headers": {
                "host": {"value": "photos.example.com"},
                "accept": {
                    "value": "text/html",
                    "multiValue": [{"value": "text/html"}, {"value": "*/*"}],
                },
                "user-agent": {"value": "Mozilla/5.0"},
            },
            "cookies": {"theme": {"value": "dark"}},
        },
    }


def run(*events: dict[str, Any]) -> list[dict[str, Any]]:
    """What the function returns for each event (a request or a response)."""
    done = subprocess.run(
        [node(), str(HARNESS), str(FUNCTION)],
        input=json.dumps(events),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    for answer in answers:
        assert "error" not in answer, answer["error"]
    return [answer["result"] for answer in answers]


def passes(uri: str, query: str | dict[str, Any] = "", method: str = "GET") -> str:
    """The URI the origin is asked for; asserts the rest of the request is untouched."""
    sent = event(uri, query, method)
    (result,) = run(sent)
    assert "statusCode" not in result, f"{uri}: answered {result}"
    assert {**result, "uri": uri} == sent["request"], result
    return result["uri"]


def redirect(uri: str, query: str | dict[str, Any] = "") -> str:
    """The Location of the 301 the function answers; asserts the response's exact shape."""
    (result,) = run(event(uri, query))
    assert set(result) == {"statusCode", "statusDescription", "headers"}, result
    assert result["statusCode"] == 301 and result["statusDescription"] == "Moved Permanently"
    assert set(result["headers"]) == {"location"}, result
    return result["headers"]["location"]["value"]


# --- HOSTING.md §1.3 ---------------------------------------------------------------------------


def test_the_table_of_hosting_md() -> None:
    assert passes("/") == "/index.html"
    assert passes("/istanbul/") == "/istanbul/index.html"
    assert redirect("/istanbul/bosphorus") == "/istanbul/bosphorus/"
    assert redirect("/v1.2/album") == "/v1.2/album/"  # AWS's sample leaves this alone
    assert passes("/istanbul/galata.1280.3f2a.webp") == "/istanbul/galata.1280.3f2a.webp"
    assert passes("/istanbul/manifest.json") == "/istanbul/manifest.json"
    assert redirect("/istanbul", {"a": {"value": "1"}, "b": {"value": "x y"}}) == (
        "/istanbul/?a=1&b=x%20y"
    )


def test_a_folder_uri_keeps_its_query_string_for_the_origin() -> None:
    assert passes("/istanbul/", "a=1&b=2&b=3") == "/istanbul/index.html"


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_method_changes_nothing(method: str) -> None:
    assert passes("/trip/", method=method) == "/trip/index.html"
    (result,) = run(event("/trip", method=method))
    assert result["statusCode"] == 301


def test_several_events_in_one_run_do_not_leak_into_each_other() -> None:
    results = run(event("/a"), event("/b/"), event("/c", "x=1"), event("/d.jpg"))
    assert [r.get("headers", {}).get("location", {}).get("value") or r["uri"] for r in results] == [
        "/a/",
        "/b/index.html",
        "/c/?x=1",
        "/d.jpg",
    ]


# --- the query string --------------------------------------------------------------------------


def test_no_query_string_gives_no_question_mark() -> None:
    assert redirect("/trip/album", "") == "/trip/album/"
    assert redirect("/trip/album", {}) == "/trip/album/"


def test_repeated_names_keep_every_value_in_order() -> None:
    assert redirect("/trip", "b=2&a=1&b=3&b=1") == "/trip/?b=2&b=3&b=1&a=1"
    # the documented example's shape: value repeated as the first of multiValue
    mv = {"q": {"value": "v1", "multiValue": [{"value": "v1"}, {"value": "v2,v3"}]}}
    assert redirect("/trip", mv) == "/trip/?q=v1&q=v2,v3"


def test_an_empty_value_is_the_name_alone() -> None:
    assert redirect("/trip", "flag&n=") == "/trip/?flag&n"
    assert parse_qsl(urlsplit(redirect("/trip", "flag&n=")).query, keep_blank_values=True) == [
        ("flag", ""),
        ("n", ""),
    ]


def test_values_as_the_viewer_sent_them_are_not_encoded_twice() -> None:
    # what CloudFront passes: the viewer's percent-encoding
    assert redirect("/liju", "q=%E5%AE%B6&p=a%20b&s=%2F%26%3D") == (
        "/liju/?q=%E5%AE%B6&p=a%20b&s=%2F%26%3D"
    )
    # lowercase escapes stay as they are (still one valid escape)
    assert redirect("/liju", "q=%e5%ae%b6") == "/liju/?q=%e5%ae%b6"


def test_decoded_values_come_out_percent_encoded() -> None:
    decoded = {
        "q": {"value": "家"},
        "amp": {"value": "a&b=c"},
        "hash": {"value": "#top"},
        "pct": {"value": "100%"},
        "emoji": {"value": "📷"},
        "k y": {"value": "v"},
        "a=b": {"value": "1"},
    }
    location = redirect("/liju", decoded)
    assert location == (
        "/liju/?q=%E5%AE%B6&amp=a%26b=c&hash=%23top&pct=100%25&emoji=%F0%9F%93%B7&k%20y=v&a%3Db=1"
    )
    assert parse_qsl(urlsplit(location).query) == [
        (name, field["value"]) for name, field in decoded.items()
    ]


@pytest.mark.parametrize(
    "raw",
    [
        "a=1&b=x%20y",
        "q=caf%C3%A9&q=th%C3%A9",
        "redirect=%2F%2Fevil.example&next=/a/b?c",
        "x=%3Cscript%3E&y='\"",
        "plus=a+b&tilde=~&star=*",
        "bad=%ZZ&half=%4",
    ],
)
def test_the_redirect_keeps_what_the_query_means(raw: str) -> None:
    location = redirect("/trip/album", raw)
    query = urlsplit(location).query
    assert parse_qsl(query, keep_blank_values=True) == parse_qsl(raw, keep_blank_values=True)
    assert all(32 < ord(c) < 127 for c in location), location  # a header value, plain ASCII
    assert "#" not in location and " " not in location


def test_a_broken_escape_is_escaped_itself() -> None:
    assert redirect("/trip", "bad=%ZZ&half=%4&end=%") == "/trip/?bad=%25ZZ&half=%254&end=%25"


def test_a_lone_surrogate_does_not_throw() -> None:
    assert redirect("/trip", {"x": {"value": "a\ud800b"}}) == "/trip/?x=a%EF%BF%BDb"


# --- the path ----------------------------------------------------------------------------------


def test_the_location_is_a_path_on_this_site_never_another_host() -> None:
    for uri, location in [
        ("//evil.example/x", "/evil.example/x/"),
        ("//evil", "/evil/"),
        ("///evil", "/evil/"),
        ("/\\evil", "/%5Cevil/"),
        ("/\\/evil", "/%5C/evil/"),
        ("/%2F%2Fevil", "/%2F%2Fevil/"),
    ]:
        got = redirect(uri)
        assert got == location, uri
        assert got.startswith("/") and not got.startswith("//"), got
        # resolved by a browser against the gallery, it stays on the gallery's host
        assert urlsplit(got).netloc == "" and "\\" not in got


def test_a_double_slash_uri_with_a_dot_or_a_slash_is_not_redirected() -> None:
    assert passes("//evil.example") == "//evil.example"
    assert passes("//") == "//index.html"
    assert passes("//evil.example/") == "//evil.example/index.html"


def test_encoded_characters_in_the_path_are_kept_and_others_encoded() -> None:
    assert redirect("/trip/caf%C3%A9") == "/trip/caf%C3%A9/"
    assert redirect("/trip/café") == "/trip/caf%C3%A9/"  # a raw one (never from a browser)
    assert redirect("/trip/a b") == "/trip/a%20b/"
    assert redirect("/trip/x%3Fy%23z") == "/trip/x%3Fy%23z/"
    assert redirect("/trip/x?y") == "/trip/x%3Fy/"  # a '?' in the uri cannot start a query
    assert redirect("/trip/100%") == "/trip/100%25/"
    assert passes("/trip/caf%C3%A9/") == "/trip/caf%C3%A9/index.html"
    assert passes("/trip/Día 1.jpg") == "/trip/Día 1.jpg"  # a file: untouched


def test_an_encoded_slash_separates_segments_as_s3_reads_it() -> None:
    # S3 decodes %2F: /v1.2%2Falbum is the key v1.2/album, whose last segment has no dot
    assert redirect("/v1.2%2Falbum") == "/v1.2%2Falbum/"
    assert redirect("/trip%2fbosphorus") == "/trip%2fbosphorus/"
    assert passes("/trip%2Fgalata.jpg") == "/trip%2Fgalata.jpg"
    assert passes("/trip.jpg%2Fx.webp") == "/trip.jpg%2Fx.webp"
    assert redirect("/photo.jpg%2Fx") == "/photo.jpg%2Fx/"
    # ends in an encoded slash: no key and no folder a link makes, left to the origin (404)
    assert passes("/trip%2F") == "/trip%2F"


def test_an_encoded_dot_is_a_dot() -> None:
    assert passes("/trip/galata%2Ejpg") == "/trip/galata%2Ejpg"
    assert passes("/trip/galata%2ejpg") == "/trip/galata%2ejpg"


def test_dots_anywhere_in_the_last_segment_leave_it_alone() -> None:
    # a file, or a name no link makes: the origin answers (its 404 is the error page); a
    # redirect would only lead to another 404
    for uri in ["/trip/album.", "/trip/album..", "/trip/.hidden", "/trip/..", "/trip/."]:
        assert passes(uri) == uri
    assert redirect("/trip.d/album") == "/trip.d/album/"  # dots before the last segment


def test_a_very_long_uri_is_answered_at_once() -> None:
    segment = "a" * 200
    uri = "/" + "/".join([segment] * 40)  # 8 KB, CloudFront's limit on a request URL
    assert redirect(uri) == uri + "/"
    long_query = "&".join(f"k{n}=%E5%AE%B6{n}" for n in range(400))
    assert redirect("/trip", long_query) == "/trip/?" + long_query
    encoded = "/" + "%C3%A9" * 1300
    assert redirect(encoded) == encoded + "/"
    assert passes(uri + "/") == uri + "/index.html"
    assert passes("/" + "." * 8000) == "/" + "." * 8000


# --- the file and its loader -------------------------------------------------------------------


def test_the_file_is_within_cloudfronts_size_quota_and_plain_es5() -> None:
    code = FUNCTION.read_bytes()
    assert len(code) <= MAX_FUNCTION_SIZE == 10 * 1024, len(code)
    text = code.decode("ascii")  # plain ASCII: no encoding question at upload
    assert "function handler(event)" in text
    for feature in ("require(", "import ", "export ", "=>", "let ", "const ", "`"):
        assert feature not in text, f"{feature!r} in the function: keep it ES 5.1"
    assert FUNCTION_RUNTIME == "cloudfront-js-2.0"


def test_the_harness_would_catch_a_function_that_uses_node(tmp_path: Path) -> None:
    bad = tmp_path / "bad.js"
    bad.write_text("function handler(event) { return require('fs'); }\n")
    done = subprocess.run(
        [node(), str(HARNESS), str(bad)],
        input=json.dumps([event("/")]),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "require is not defined" in json.loads(done.stdout)[0]["error"]


def test_function_code_is_the_file() -> None:
    assert function_code() == FUNCTION.read_bytes()


def test_an_installed_wheel_ships_the_function(tmp_path: Path) -> None:
    """Build a wheel of the project as pip does and load the function from it, in a Python
    that imports gallery_builder from the unpacked wheel, not from this checkout."""
    tree = tmp_path / "tree"
    for name in ("pyproject.toml", "README.md"):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tree / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("gallery_builder", "plugins", "themes"):
        shutil.copytree(ROOT / folder, tree / folder, ignore=ignore)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(tree)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("gallery_builder-*.whl")
    installed = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        assert "gallery_builder/plugins/cloudfront/viewer_request.js" in archive.namelist()
        archive.extractall(installed)
    probe = (
        "import sys, gallery_builder.plugins.cloudfront_function as f;"
        "print(f.__file__); sys.stdout.flush(); sys.stdout.buffer.write(f.function_code())"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(installed), "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr.decode()
    where, _, code = loaded.stdout.partition(b"\n")
    assert Path(where.decode()).is_relative_to(installed), where
    assert code == FUNCTION.read_bytes()
