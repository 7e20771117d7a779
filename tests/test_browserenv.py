"""The browser test environment itself (browserenv.py): Debian's Chromium loads and renders a
local page and runs its scripts, axe-core finds real violations and passes a sound page, and
PageProblems catches what goes wrong in a page."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from browserenv import (
    DEBIAN_CHROMIUM,
    PageProblems,
    assert_no_serious_violations,
    chromium_path,
    format_violations,
    problems_of,
    run_axe,
    serious_violations,
    static_server,
)
from PIL import Image
from playwright.sync_api import Error as PlaywrightError

# a sound page: language, title, one main landmark with a heading, an icon (so that Chromium
# does not fetch /favicon.ico), alt text
GOOD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>A sound page</title>
<link rel="icon" href="data:,">
<style>#box { position: absolute; left: 40px; top: 100px; width: 60px; height: 40px;
  background: rgb(255, 0, 0); }</style>
</head>
<body>
<main>
<h1 id="heading">Waiting for the script</h1>
<img src="pixel.png" alt="A white pixel" width="1" height="1">
<div id="box"></div>
</main>
<script>
document.getElementById("heading").textContent = "Script ran " + (6 * 7);
</script>
</body>
</html>
"""

# no lang, no title, an image without alt text
BAD = """<!doctype html>
<html>
<head><meta charset="utf-8"><link rel="icon" href="data:,"></head>
<body><main><h1>Bad</h1><img src="pixel.png"></main></body>
</html>
"""

# everything PageProblems looks for, all before the load event
BROKEN = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Broken</title><link rel="icon" href="data:,"></head>
<body>
<main><h1>Broken</h1><img src="missing.png" alt="missing"></main>
<script>console.error("logged on purpose");</script>
<script>throw new TypeError("thrown on purpose");</script>
</body>
</html>
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The three pages above and a PNG, served on 127.0.0.1; yields the base URL."""
    (tmp_path / "good.html").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.html").write_text(BAD, encoding="utf-8")
    (tmp_path / "broken.html").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "no-icon.html").write_text(
        '<!doctype html><html lang="en"><title>No icon</title><main><h1>x</h1></main></html>',
        encoding="utf-8",
    )
    Image.new("RGB", (1, 1), "white").save(tmp_path / "pixel.png")
    with static_server(tmp_path) as url:
        yield url


def test_chromium_is_debians_unless_another_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GALLERY_CHROMIUM", raising=False)
    assert chromium_path() == DEBIAN_CHROMIUM


def test_chromium_loads_renders_and_runs_a_local_page(page, served: str) -> None:
    problems = PageProblems(page)
    response = page.goto(served + "good.html")
    assert response is not None and response.status == 200
    assert page.text_content("#heading") == "Script ran 42"
    assert page.evaluate("() => navigator.userAgent").find("HeadlessChrome") >= 0
    # the page really rendered: the red box is red in a screenshot, the background white
    shot = Image.open(io.BytesIO(page.screenshot()))
    assert shot.size == (1280, 720)
    assert shot.convert("RGB").getpixel((70, 120)) == (255, 0, 0)
    assert shot.convert("RGB").getpixel((200, 300)) == (255, 255, 255)
    # and the image loaded
    assert page.evaluate("() => document.querySelector('img').naturalWidth") == 1
    problems.assert_none()


def test_localhost_resolves_though_no_other_name_does(page, served: str) -> None:
    local = served.replace("127.0.0.1", "localhost")
    assert page.goto(local + "good.html").status == 200
    with pytest.raises(PlaywrightError, match="ERR_NAME_NOT_RESOLVED"):
        page.goto("http://example.com/")


def test_axe_finds_real_violations(page, served: str) -> None:
    page.goto(served + "bad.html")
    violations = run_axe(page)
    impacts = {v["id"]: v["impact"] for v in violations}
    assert impacts["image-alt"] == "critical"
    assert impacts["html-has-lang"] == "serious"
    assert impacts["document-title"] == "serious"
    serious = serious_violations(violations)
    assert {v["id"] for v in serious} >= {"image-alt", "html-has-lang", "document-title"}
    assert all(v["impact"] in ("serious", "critical") for v in serious)
    message = format_violations(serious)
    assert "image-alt (critical): Images must have alternative text" in message
    assert "at img:" in message
    with pytest.raises(AssertionError, match="image-alt"):
        assert_no_serious_violations(page)


def test_axe_passes_a_sound_page(page, served: str) -> None:
    problems = PageProblems(page)
    page.goto(served + "good.html")
    violations = run_axe(page)
    assert not serious_violations(violations), format_violations(violations)
    assert_no_serious_violations(page)  # axe is injected once, run again
    assert (
        page.evaluate("() => axe.version")
        == json.loads((Path(__file__).parent.parent / "package.json").read_text(encoding="utf-8"))[
            "devDependencies"
        ]["axe-core"]
    )
    problems.assert_none()  # injecting axe logged nothing


def test_axe_runs_under_a_strict_content_security_policy(page, served: str) -> None:
    problems = PageProblems(page)
    page.route(
        "**/good.html",
        lambda route: route.fulfill(
            response=route.fetch(),
            headers={"Content-Security-Policy": "script-src 'none'"},
        ),
    )
    page.goto(served + "good.html")
    assert page.text_content("#heading") == "Waiting for the script"  # the CSP holds
    # the blocked inline script was logged, as a problem
    assert len(problems.problems) == 1
    assert "violates the following Content Security Policy" in problems.problems[0]
    # and as the securitypolicyviolation event the page saw
    problems.flush()
    assert [(v["directive"], v["blocked"]) for v in problems.csp_violations] == [
        ("script-src-elem", "inline")
    ], problems.csp_violations
    assert "CSP violation: script-src-elem blocked inline" in str(problems)
    problems.problems.clear()
    problems.csp_violations.clear()
    assert_no_serious_violations(page)
    problems.assert_none()


def test_csp_violations_are_kept_when_the_page_moves_on(page, served: str) -> None:
    problems = problems_of(page)
    assert problems_of(page) is problems  # one collector a page
    page.route(
        "**/good.html",
        lambda route: route.fulfill(
            response=route.fetch(), headers={"Content-Security-Policy": "script-src 'none'"}
        ),
    )
    page.goto(served + "good.html")
    page.goto("about:blank")  # the document that saw it is gone; its report is not
    problems.flush()
    assert [(v["directive"], v["document"]) for v in problems.csp_violations] == [
        ("script-src-elem", served + "good.html")
    ]
    with pytest.raises(AssertionError, match="CSP violation: script-src-elem blocked inline"):
        problems.assert_none()


def test_page_problems_catch_console_errors_exceptions_and_http_errors(page, served: str) -> None:
    problems = PageProblems(page)
    page.goto(served + "broken.html")
    with pytest.raises(AssertionError) as failure:
        problems.assert_none()
    report = str(failure.value)
    assert "console error: logged on purpose" in report
    assert "uncaught exception: TypeError: thrown on purpose" in report
    assert f"HTTP 404: GET {served}missing.png" in report
    # Chromium logs the 404 as a console error too
    assert "console error: Failed to load resource: the server responded with a status of 404" in (
        report
    )
    assert len(problems.problems) == 4, report


def test_page_problems_catch_a_failed_request(page, served: str) -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/closed"
    problems = PageProblems(page)
    page.goto(served + "good.html")
    page.evaluate("url => fetch(url).catch(() => null)", closed)
    problems.flush()
    assert any(p.startswith(f"request failed: GET {closed}") for p in problems.problems), problems


def test_expected_http_errors_are_no_problem(page, served: str) -> None:
    problems = PageProblems(page, expected={"/missing.png": 404})
    problems.expect(served + "nowhere.html", 404)
    # http.server's 404 page names no icon, so Chromium asks for /favicon.ico after it
    # loaded, and the console error for that may come while the next page is shown
    problems.expect("/favicon.ico", 404)
    assert page.goto(served + "nowhere.html").status == 404
    page.goto(served + "good.html")
    page.evaluate("() => fetch('/missing.png')")
    problems.assert_none()
    # only the declared status is expected
    page.evaluate("() => fetch('/pixel.png/x')")
    with pytest.raises(AssertionError, match=r"HTTP 404: GET .*/pixel\.png/x"):
        problems.assert_none()


def test_chromium_fetches_a_favicon_by_itself(page, served: str) -> None:
    """A page that names no icon makes Chromium ask for /favicon.ico after the load; the 404
    shows only as a console error."""
    problems = PageProblems(page)
    with page.expect_console_message(lambda m: "favicon.ico" in m.location["url"]):
        page.goto(served + "no-icon.html")
    assert problems.problems == [
        "console error: Failed to load resource: the server responded with a status of 404 "
        f"(File not found) (at {served}favicon.ico)"
    ]
