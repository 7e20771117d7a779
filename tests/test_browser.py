"""The themes in a real browser (issue 4): headless Debian Chromium, driven by Playwright, on
sites built from real pictures and served by ``gallery_builder.serve`` the way S3 website hosting
serves them (the gallery "photos" at /photos/, a 404 with error.html for a missing key).

The main checks run on the three ways a gallery gets its theme: the built-in ``default``, the
built-in ``minimal`` (extends default) and a user's override folder (no theme.toml, only
``templates/base.html``). Pages load cleanly; the viewer opens, moves, closes, deep-links, follows
Back and keeps focus; without JavaScript a thumbnail is a link; axe-core finds nothing serious
in light or dark; a phone never scrolls sideways; images are fetched at the size they are shown;
names and captions with markup stay text. A 100-picture album keeps to the byte budget of its
HTML, CSS and JS, and loads its pictures below the fold lazily.
"""

from __future__ import annotations

import contextlib
import gzip
import weakref
from collections.abc import Callable, Iterator, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pictures
import pytest
from browserenv import TIMEOUT_MS, PageProblems, assert_no_serious_violations, problems_of
from playwright.sync_api import Browser, Page

from gallery_builder.security_headers import CONTENT_SECURITY_POLICY
from gallery_builder.serve import SiteFolder, make_server, serve_in_thread
from gallery_builder.testing import build_gallery

THEMES = ("default", "minimal", "override")

#: an album and a caption whose text is markup: it must show as written, never run
MARKUP_FOLDER = '<img src=x onerror=alert(1)> & "Q"'
MARKUP_CAPTION = "<img src=x onerror=alert(2)><script>alert(3)</script> & <b>bold</b>"
MARKUP_FILE = "<svg onload=alert(4)>.jpg"
#: a folder name without a break opportunity, wider than a phone's screen
LONG_FOLDER = "2024_05_17_Bosphorus_Cruise_Panoramas_Stitched"
#: what the override theme's base.html adds to every page
OVERRIDE_MARK = "Built with my own base.html"
OVERRIDE_BASE = f"""{{% extends "default:base.html" %}}
{{% block footer %}}<footer class="mine"><p>{OVERRIDE_MARK}</p></footer>{{% endblock %}}
"""

#: the Trip album: eight pictures, landscape but the fourth (portrait) and the last (a 4:1
#: panorama, wider than the thumbnail crop's 4:3)
TRIP = {f"IMG_{n:04d}": (800, 600) for n in range(1, 9)} | {
    "IMG_0004": (600, 800),
    "IMG_0008": (1600, 400),
}
TRIP_CAPTIONS = {"IMG_0001": "Galata tower at dusk", "IMG_0004": "Ferry to Kadıköy"}

PHONE = {
    "viewport": {"width": 375, "height": 667},
    "is_mobile": True,
    "has_touch": True,
}
DEVICES = {
    "desktop": {"viewport": {"width": 1280, "height": 720}, "device_scale_factor": 1},
    "phone": {**PHONE, "device_scale_factor": 2},
}
#: a wide screen of twice the density, where the grid needs more than the crop
HIDPI = {"viewport": {"width": 1440, "height": 900}, "device_scale_factor": 2}

VIEWER = "dialog[open]"
VIEWER_IMG = "dialog[open] figure img"


# --- sites -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """A built site served over HTTP: ``url`` is the gallery's root page (``.../photos/``)."""

    theme: str
    site: Path
    url: str

    def at(self, path: str) -> str:
        return self.url + path


@contextlib.contextmanager
def serving(site: Path, theme: str) -> Iterator[Served]:
    server = make_server(SiteFolder(site, "/photos/"), port=0)
    serve_in_thread(server)
    try:
        yield Served(theme, site, f"http://127.0.0.1:{server.server_address[1]}/photos/")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source folder "photos": a picture at the root, the Trip album (big enough for
    several sizes at the default settings), an album and pictures named with markup, and an
    album with a long unbreakable name."""
    source = tmp_path_factory.mktemp("src") / "photos"
    pictures.jpeg(source / "cover.jpg", (640, 480), taken="2024:05:09 09:00:00")
    for n, (name, size) in enumerate(TRIP.items()):
        pictures.jpeg(source / "Trip" / f"{name}.jpg", size, taken=f"2024:05:{10 + n} 18:00:00")
    for name, caption in TRIP_CAPTIONS.items():
        (source / "Trip" / f"{name}.txt").write_text(caption, encoding="utf-8")
    pictures.jpeg(source / MARKUP_FOLDER / "x.jpg")
    (source / MARKUP_FOLDER / "x.txt").write_text(MARKUP_CAPTION, encoding="utf-8")
    pictures.jpeg(source / MARKUP_FOLDER / MARKUP_FILE)
    pictures.jpeg(source / LONG_FOLDER / "IMG_0100.jpg")
    return source


@pytest.fixture(scope="module", params=THEMES)
def served(
    request: pytest.FixtureRequest, photos: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """``photos`` built with each theme (the default settings) and served at /photos/."""
    theme = request.param
    out = tmp_path_factory.mktemp(f"site-{theme}")
    if theme == "override":
        folder = tmp_path_factory.mktemp("mytheme")
        (folder / "templates").mkdir()
        (folder / "templates" / "base.html").write_text(OVERRIDE_BASE, encoding="utf-8")
        build_gallery(photos, out, theme=str(folder))
    else:
        build_gallery(photos, out, theme=theme)
    with serving(out, theme) as served:
        yield served


@pytest.fixture(scope="module")
def big_album(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An album of 100 camera-named, dated pictures in the default theme. The pictures and
    the sizes are scaled down to build fast, but each picture still gets what a big photo
    gets at the default settings: a crop and three web sizes wider than it, in two formats."""
    source = tmp_path_factory.mktemp("big") / "photos"
    for n in range(1, 101):
        pictures.jpeg(source / "Album" / f"IMG_{n:04d}.jpg", (128, 96),
                      taken=f"2024:05:17 10:{n // 60:02d}:{n % 60:02d}")  # fmt: skip
    (source / "gallery.toml").write_text(
        "[images]\nsizes = [100, 110, 120]\nthumbnail = [96, 72]\n", encoding="utf-8"
    )
    out = source.parent / "site"
    build_gallery(source, out)
    with serving(out, "default") as served:
        yield served


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture
def page(page: Page) -> Iterator[Page]:
    """conftest's page, watched: the test fails on anything that went wrong in it (a CSP
    violation, a console error, an HTTP error it did not declare with problems_of(page))."""
    problems = problems_of(page)
    yield page
    problems.assert_none()


@contextlib.contextmanager
def new_page(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a new context made with ``options`` (viewport, colour scheme, ...), watched
    like the ``page`` fixture's: anything that went wrong in it fails the test."""
    context = browser.new_context(**options)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        problems = problems_of(page)
        if options.get("java_script_enabled") is False:
            _settlers[page] = quiet(page, frames=False)  # no frame callbacks without it
        yield page
        problems.assert_none()
    finally:
        context.close()


#: each page's quiet() function, made on its first load()
_settlers: weakref.WeakKeyDictionary[Page, Callable[[], None]] = weakref.WeakKeyDictionary()


def load(page: Page, url: str, status: int = 200) -> None:
    """Go to ``url``, expect ``status``, and wait until the page has fetched all it starts
    fetching by itself (its lazy images near the window too)."""
    settle = _settlers.get(page) or _settlers.setdefault(page, quiet(page))
    response = page.goto(url)
    assert response is not None and response.status == status, f"{url}: {response}"
    settle()


def quiet(page: Page, frames: bool = True) -> Callable[[], None]:
    """A function that waits until every request ``page`` started has finished: navigating
    on while lazy images are still loading would abort them (a failed request). ``frames``:
    first wait two frames, which needs the page's JavaScript on."""
    pending: set[Any] = set()
    page.on("request", lambda request: pending.add(request))
    page.on("requestfinished", lambda request: pending.discard(request))
    page.on("requestfailed", lambda request: pending.discard(request))

    def wait() -> None:
        # two frames: lazy images near the window start loading once the page is laid out
        if frames:
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                          "requestAnimationFrame(() => setTimeout(r))))")  # fmt: skip
        for _ in range(TIMEOUT_MS // 20):
            if not pending:
                return
            page.wait_for_timeout(20)
        raise AssertionError(f"still loading: {[r.url for r in pending]}")

    return wait


def slugs(page: Page) -> list[str]:
    """The fragments of the album's pictures, in order."""
    return page.eval_on_selector_all(".pictures a[id]", "links => links.map(a => a.id)")


def wait_for_viewer(page: Page, slug: str) -> dict[str, Any]:
    """Wait until the viewer is open on ``slug`` with its image loaded; return its state."""
    page.wait_for_function(
        """slug => {
            const img = document.querySelector('dialog[open] figure img');
            return location.hash === '#' + slug && img && img.complete && img.naturalWidth > 0
                && img.currentSrc.split('/').pop().startsWith(slug + '.');
        }""",
        arg=slug,
    )
    state = viewer_state(page)
    assert ".thumb." not in state["src"], f"the viewer shows the crop: {state['src']}"
    # a srcset candidate's width is the image's own: the browser then sizes it to `sizes`
    if state["srcset"]:
        assert abs(state["natural"] - state["sizes"]) <= state["sizes"] / 100, state
    return state


def viewer_state(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const dialog = document.querySelector('dialog');
            const img = dialog && dialog.querySelector('figure img');
            const text = s => (dialog && dialog.querySelector(s) || {}).textContent;
            return {
                open: !!(dialog && dialog.open), hash: location.hash,
                src: img ? img.currentSrc : null, natural: img ? img.naturalWidth : 0,
                sizes: img ? parseFloat(img.sizes) : null,
                srcset: !!(img && img.parentNode.querySelector('[srcset]:not([srcset=""])')),
                alt: img ? img.alt : null, caption: text('.caption'), meta: text('.meta'),
                active: document.activeElement && document.activeElement.id,
            };
        }"""
    )


def wait_for_closed(page: Page) -> None:
    page.wait_for_function("() => !document.querySelector('dialog[open]')")


#: the srcset candidate an <img> (grid or viewer) shows, and what its box needs
CHOICE = """img => {
    const box = img.getBoundingClientRect();
    const sets = [...img.closest('picture').querySelectorAll('source'), img]
        .map(e => e.getAttribute('srcset') || '');
    for (const set of sets) {
        const candidates = set.split(',').map(c => c.trim().split(/\\s+/))
            .map(([url, w]) => ({url: new URL(url, document.baseURI).href, w: parseInt(w)}));
        const hit = candidates.find(c => c.url === img.currentSrc);
        if (hit) return {src: img.currentSrc, chosen: hit.w, widths: candidates.map(c => c.w),
                         css: box.width, dpr: devicePixelRatio};
    }
    return {src: img.currentSrc, chosen: null, widths: [], css: box.width, dpr: devicePixelRatio};
}"""


def assert_fetched_at_the_size_needed(choice: dict[str, Any], cached: Set[str] = frozenset()):
    """The candidate the browser took is the smallest at least as wide as the image's box in
    device pixels (or the widest, when none is): nothing bigger than needed. Returns it.

    A bigger one is right if the page had already loaded it (``cached``): Chromium then takes
    it from its memory cache rather than fetch a smaller one."""
    assert choice["chosen"] is not None, f"{choice['src']} is no candidate of its srcset"
    need = choice["css"] * choice["dpr"]
    widths = sorted(choice["widths"])
    expected = min((w for w in widths if w >= need), default=widths[-1])
    assert choice["chosen"] == expected or choice["src"] in cached, (
        f"{choice['src']}: shown {choice['css']:.0f} CSS px at DPR {choice['dpr']} needs "
        f"{need:.0f} px; took the {choice['chosen']}w candidate of {widths}, not {expected}w"
    )
    return choice["chosen"]


def loaded(page: Page) -> set[str]:
    """The URLs of everything the page has loaded so far."""
    return set(page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)"))


def assert_no_sideways_scroll(page: Page) -> None:
    """Nothing is wider than the window. (A mobile browser zooms out to show a page that
    overflows, which widens innerWidth to the page's width: compare with the screen's.)"""
    screen = page.viewport_size["width"]
    widths = page.evaluate("() => [document.documentElement.scrollWidth, innerWidth]")
    assert widths == [screen, screen], (
        f"{page.url}: [scrollWidth, innerWidth] {widths}, not {screen}"
    )


def assert_theme_applied(page: Page, served: Served) -> None:
    """The page is the theme's: its stylesheet loaded and applied, its own blocks there."""
    styled = page.evaluate(
        """() => [...document.styleSheets].some(s => s.href
               && /\\/_static\\/style\\.[0-9a-f]{8}\\.css$/.test(s.href) && s.cssRules.length > 0)
           && getComputedStyle(document.body).marginTop === '0px'"""
    )
    assert styled, f"{page.url}: the theme's style.css is not applied"
    if served.theme == "minimal":
        assert page.locator("footer.site-footer").is_visible()
        assert "Georgia" in page.evaluate("() => getComputedStyle(document.body).fontFamily")
    elif served.theme == "override":
        assert page.get_by_text(OVERRIDE_MARK).is_visible()
    else:
        assert page.locator("footer").count() == 0


def album_path(page: Page, title: str) -> str:
    """The path (from the root page) of the root's sub-album titled ``title``."""
    card = page.locator(".album-card", has=page.get_by_text(title, exact=True))
    return card.get_attribute("href")


# --- pages -------------------------------------------------------------------------------------


def test_pages_load_without_a_problem(served: Served, page: Page) -> None:
    problems = problems_of(page)
    with page.expect_response(served.url) as answer:
        load(page, served.url)
    # under the policy the CDN sends (security_headers): any violation is a problem
    assert answer.value.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert_theme_applied(page, served)
    paths = ["", "trip/", album_path(page, MARKUP_FOLDER), album_path(page, LONG_FOLDER)]
    for path in paths:
        load(page, served.at(path))
        assert_theme_applied(page, served)
        # every picture loads, the lazy ones too once scrolled to
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function(
            "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
    problems.assert_none()


def test_the_error_page_is_styled_at_any_depth(served: Served, page: Page) -> None:
    missing = "/photos/trip/nope/x.html"
    problems = problems_of(page, expected={missing: 404})
    load(page, urljoin(served.url, missing), status=404)
    assert page.title().startswith("Not found")
    assert_theme_applied(page, served)  # its stylesheet's URL works two folders down
    home = page.get_by_role("link", name="Back to photos")
    with page.expect_navigation():
        home.click()
    assert page.url == served.url and page.locator("h1").inner_text() == "photos"
    problems.assert_none()


#: a theme that breaks the content security policy: an inline script and an inline handler
INLINE_SCRIPT_BASE = """{% extends "default:base.html" %}
{% block footer %}<footer><button id="inline" type="button" onclick="alert(2)">Hi</button></footer>
<script>alert(1)</script>{% endblock %}
"""


def test_a_theme_with_an_inline_script_is_caught_by_the_policy(
    tmp_path: Path, browser: Browser
) -> None:
    """The check the tests above rely on can fail: under the served CSP, a theme's inline
    script and inline event handler do not run, and each is reported as a violation."""
    source = tmp_path / "photos"
    pictures.jpeg(source / "cover.jpg", (320, 240))
    theme = tmp_path / "inline-theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "templates" / "base.html").write_text(INLINE_SCRIPT_BASE, encoding="utf-8")
    out = tmp_path / "site"
    build_gallery(source, out, theme=str(theme))
    assert "<script>alert(1)</script>" in (out / "index.html").read_text(encoding="utf-8")
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        problems = PageProblems(page)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        with serving(out, "inline") as served:
            load(page, served.url)
            page.click("#inline")
            page.wait_for_function("() => true")  # one more round trip for the reports
            problems.flush()
        assert dialogs == []  # neither ran
        assert sorted(v["directive"] for v in problems.csp_violations) == [
            "script-src-attr",
            "script-src-elem",
        ], problems.csp_violations
        assert all(v["blocked"] == "inline" for v in problems.csp_violations)
        with pytest.raises(AssertionError, match="CSP violation: script-src-elem blocked"):
            problems.assert_none()
    finally:
        context.close()


# --- the viewer --------------------------------------------------------------------------------


def test_a_click_shows_the_picture_larger_and_arrows_move_around(served: Served, page: Page):
    problems = problems_of(page)
    load(page, served.at("trip/"))
    ids = slugs(page)
    assert len(ids) == len(TRIP)
    thumb = page.locator(f"[id='{ids[1]}'] img")
    thumb_width = thumb.evaluate("img => img.naturalWidth")
    cached = loaded(page)
    thumb.click()
    state = wait_for_viewer(page, ids[1])
    assert state["natural"] > thumb_width, state
    assert state["src"].endswith(".webp"), state  # the best format, as in the grid
    assert state["meta"].endswith(f"2 / {len(ids)}")
    assert_fetched_at_the_size_needed(page.eval_on_selector(VIEWER_IMG, CHOICE), cached)
    box = page.locator(VIEWER_IMG).bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1280 and box["height"] <= 720

    shown = [state["src"]]
    last = len(ids) - 1  # the moves wrap around both ends
    moves = [("ArrowRight", 2), ("ArrowLeft", 1), ("ArrowLeft", 0), ("ArrowLeft", last),
             ("ArrowLeft", last - 1), ("ArrowRight", last), ("ArrowRight", 0)]  # fmt: skip
    for key, index in moves:
        page.keyboard.press(key)
        state = wait_for_viewer(page, ids[index])
        assert state["meta"].endswith(f"{index + 1} / {len(ids)}"), (key, state)
        assert state["src"] != shown[-1]
        shown.append(state["src"])
    assert state["caption"] == TRIP_CAPTIONS["IMG_0001"]  # ids[0]

    page.keyboard.press("Escape")
    wait_for_closed(page)
    state = viewer_state(page)
    assert state["hash"] == "" and state["active"] == ids[0], state  # focus back on its thumb
    assert page.url == served.at("trip/")
    problems.assert_none()


def test_a_deep_link_opens_its_picture(served: Served, page: Page) -> None:
    problems = problems_of(page)
    load(page, served.at("trip/"))
    ids = slugs(page)
    page.goto("about:blank")
    load(page, served.at(f"trip/#{ids[3]}"))  # IMG_0004: the portrait one, with a caption
    state = wait_for_viewer(page, ids[3])
    assert state["caption"] == TRIP_CAPTIONS["IMG_0004"]
    assert state["meta"].endswith(f"4 / {len(ids)}")
    assert_fetched_at_the_size_needed(page.eval_on_selector(VIEWER_IMG, CHOICE))
    page.keyboard.press("Escape")
    wait_for_closed(page)
    state = viewer_state(page)
    assert state["hash"] == "" and state["active"] == ids[3], state
    problems.assert_none()


def test_back_closes_the_viewer(served: Served, page: Page) -> None:
    problems = problems_of(page)
    load(page, served.at("trip/"))
    ids = slugs(page)
    page.locator(f"[id='{ids[2]}']").click()
    wait_for_viewer(page, ids[2])
    page.keyboard.press("ArrowRight")  # moving does not add to the history
    wait_for_viewer(page, ids[3])
    page.go_back()
    wait_for_closed(page)
    assert page.url == served.at("trip/")
    assert page.locator("h1").inner_text() == "Trip"  # still the album, not the page before
    assert viewer_state(page)["active"] == ids[3]
    problems.assert_none()


def test_focus_stays_inside_the_open_viewer(served: Served, page: Page) -> None:
    load(page, served.at("trip/"))
    ids = slugs(page)
    page.locator(f"[id='{ids[0]}']").click()
    wait_for_viewer(page, ids[0])
    inside = "() => !!document.activeElement.closest('dialog[open]')"
    assert page.evaluate(inside), "focus is not in the viewer once it opens"
    focused = set()
    for key in ["Tab"] * 8 + ["Shift+Tab"] * 8:
        page.keyboard.press(key)
        assert page.evaluate(inside), f"{key} took focus out of the viewer"
        focused.add(page.evaluate("() => document.activeElement.getAttribute('aria-label')"))
    assert focused >= {"Previous picture", "Next picture", "Close"}
    assert viewer_state(page)["open"] and viewer_state(page)["hash"] == f"#{ids[0]}"


def test_without_javascript_a_thumbnail_is_a_link_to_its_picture(
    served: Served, browser: Browser
) -> None:
    with new_page(browser, java_script_enabled=False) as page:
        problems = problems_of(page)
        load(page, served.at("trip/"))
        link = page.locator(".pictures a[id]").first
        target = urljoin(served.at("trip/"), link.get_attribute("href"))
        problems.expect("/favicon.ico", 404)  # an image has no <link rel=icon>: Chromium asks
        with page.expect_response(target) as answer:
            link.click()
        page.wait_for_url(target)
        assert answer.value.status == 200
        assert answer.value.headers["content-type"] == "image/jpeg"
        assert page.locator("dialog").count() == 0
        problems.assert_none()


def test_a_swipe_moves_to_the_next_picture(served: Served, browser: Browser) -> None:
    with new_page(browser, **PHONE, device_scale_factor=2) as page:
        problems = problems_of(page)
        load(page, served.at("trip/"))
        ids = slugs(page)
        page.locator(f"[id='{ids[0]}']").tap()
        wait_for_viewer(page, ids[0])
        cdp = page.context.new_cdp_session(page)

        def swipe(x0: float, x1: float, y0: float = 330, y1: float = 330) -> None:
            steps = 6
            cdp.send("Input.dispatchTouchEvent",
                     {"type": "touchStart", "touchPoints": [{"x": x0, "y": y0}]})  # fmt: skip
            for step in range(1, steps + 1):
                x, y = x0 + (x1 - x0) * step / steps, y0 + (y1 - y0) * step / steps
                cdp.send("Input.dispatchTouchEvent",
                         {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})  # fmt: skip
            cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

        swipe(260, 80)  # to the left: the next picture
        wait_for_viewer(page, ids[1])
        swipe(100, 280)  # to the right: back
        wait_for_viewer(page, ids[0])
        swipe(260, 80)
        wait_for_viewer(page, ids[1])
        assert viewer_state(page)["open"]
        problems.assert_none()


# --- accessibility -----------------------------------------------------------------------------


#: the contrast of each text of the open viewer against its background, at worst: a white page
#: behind the translucent backdrop and dialog (WCAG's relative luminance)
VIEWER_CONTRAST = """() => {
    const rgba = colour => colour.match(/[\\d.]+/g).map(Number);
    const over = ([r, g, b, a = 1], under) => [r, g, b].map((v, i) => v * a + under[i] * (1 - a));
    const channel = v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    const luminance = ([r, g, b]) =>
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
    const dialog = document.querySelector('dialog[open]');
    const backdrop = rgba(getComputedStyle(dialog, '::backdrop').backgroundColor);
    const page = over(backdrop, [255, 255, 255]);
    const behind = over(rgba(getComputedStyle(dialog).backgroundColor), page);
    return [...dialog.querySelectorAll('.caption, .meta, a, button')]
        .filter(e => e.offsetParent !== null && e.textContent.trim())
        .map(e => {
            const style = getComputedStyle(e);
            const background = over(rgba(style.backgroundColor), behind);
            const [hi, lo] = [luminance(over(rgba(style.color), background)), luminance(background)]
                .sort((x, y) => y - x);
            return [e.className || e.textContent, (hi + 0.05) / (lo + 0.05)];
        });
}"""

#: in dark colours, what can change is contrast: only the rules about colours run again
AXE_OPTIONS = {"light": None, "dark": {"runOnly": ["color-contrast", "link-in-text-block"]}}


@pytest.mark.parametrize("scheme", AXE_OPTIONS)
def test_axe_finds_nothing_serious(served: Served, browser: Browser, scheme: str) -> None:
    options = AXE_OPTIONS[scheme]
    with new_page(browser, color_scheme=scheme) as page:
        problems_of(page, expected={"/photos/trip/nope/x.html": 404})
        load(page, served.url)
        dark = page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark == (scheme == "dark")
        assert_no_serious_violations(page, options=options)
        load(page, served.at("trip/"))
        assert_no_serious_violations(page, options=options)
        ids = slugs(page)
        page.locator(f"[id='{ids[0]}']").click()
        wait_for_viewer(page, ids[0])
        assert_no_serious_violations(page, options=options)
        # axe leaves the viewer's text "incomplete": the page shows through its backdrop
        contrasts = dict(page.evaluate(VIEWER_CONTRAST))
        assert {"caption", "meta", "close"} <= contrasts.keys(), contrasts
        for name, ratio in contrasts.items():
            assert ratio >= 4.5, f"{name} in the viewer: contrast {ratio:.2f}, under 4.5"
        load(page, urljoin(served.url, "/photos/trip/nope/x.html"), status=404)
        assert_no_serious_violations(page, options=options)


# --- a phone -----------------------------------------------------------------------------------


def test_a_phone_never_scrolls_sideways(served: Served, browser: Browser) -> None:
    with new_page(browser, **PHONE, device_scale_factor=3) as page:
        problems = problems_of(page, expected={"/photos/trip/nope/x.html": 404})
        load(page, served.url)
        paths = [album_path(page, MARKUP_FOLDER), album_path(page, LONG_FOLDER)]
        for path in ["", "trip/", *paths]:
            load(page, served.at(path))
            assert_no_sideways_scroll(page)
        load(page, urljoin(served.url, "/photos/trip/nope/x.html"), status=404)
        assert_no_sideways_scroll(page)

        load(page, served.at("trip/"))
        ids = slugs(page)
        for index in (0, 3, len(ids) - 1):  # landscape, portrait, panorama
            cached = loaded(page)
            page.locator(f"[id='{ids[index]}']").tap()
            wait_for_viewer(page, ids[index])
            assert_no_sideways_scroll(page)
            box = page.locator(VIEWER_IMG).bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
            assert box["y"] >= 0 and box["y"] + box["height"] <= 667, box
            assert_fetched_at_the_size_needed(page.eval_on_selector(VIEWER_IMG, CHOICE), cached)
            page.keyboard.press("Escape")
            wait_for_closed(page)
        problems.assert_none()


# --- images ------------------------------------------------------------------------------------


def first_load_choices(browser: Browser, url: str, device: dict[str, Any]) -> list[int]:
    """The candidate widths the grid's images took on the first load of ``url``, each checked
    with assert_fetched_at_the_size_needed."""
    with new_page(browser, **device) as page:
        load(page, url)
        choices = page.eval_on_selector_all(
            ".pictures img, .albums img",
            f"images => images.filter(i => i.complete && i.naturalWidth > 0).map({CHOICE})",
        )
        assert len(choices) >= 6, "the first row did not load"
        return [assert_fetched_at_the_size_needed(choice) for choice in choices]


@pytest.mark.parametrize("device", DEVICES)
def test_images_are_fetched_at_the_size_they_are_shown(
    served: Served, browser: Browser, device: str
) -> None:
    first_load_choices(browser, served.at("trip/"), DEVICES[device])


@pytest.mark.parametrize("served", ["default"], indirect=True)
def test_a_dense_wide_screen_fetches_more_than_the_crop(served: Served, browser: Browser):
    taken = first_load_choices(browser, served.at("trip/"), HIDPI)
    assert max(taken) > 400, taken  # the default crop is 400 px wide


# --- names and captions with markup ------------------------------------------------------------


def test_markup_in_names_and_captions_shows_as_text(served: Served, page: Page) -> None:
    problems = problems_of(page)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    load(page, served.url)
    card = page.locator(".album-card", has=page.get_by_text(MARKUP_FOLDER, exact=True))
    assert card.is_visible()
    with page.expect_navigation():
        card.click()
    assert page.locator("h1").inner_text() == MARKUP_FOLDER
    assert page.locator(".breadcrumbs [aria-current=page]").inner_text() == MARKUP_FOLDER
    assert page.title().startswith(MARKUP_FOLDER)
    alts = page.eval_on_selector_all(".pictures img", "images => images.map(i => i.alt)")
    assert sorted(alts) == sorted([MARKUP_CAPTION, MARKUP_FILE])

    captioned = page.locator("a[id]", has=page.get_by_alt_text(MARKUP_CAPTION, exact=True))
    named = page.locator("a[id]", has=page.get_by_alt_text(MARKUP_FILE, exact=True))
    captioned.click()
    state = wait_for_viewer(page, captioned.get_attribute("id"))
    caption = page.locator("dialog[open] .caption")
    assert caption.is_visible() and caption.inner_text() == MARKUP_CAPTION
    assert state["alt"] == MARKUP_CAPTION
    page.keyboard.press("ArrowRight")
    assert wait_for_viewer(page, named.get_attribute("id"))["alt"] == MARKUP_FILE
    # nothing of it became markup: no injected element, no script but the viewer's
    injected = page.evaluate(
        """() => [document.querySelectorAll('img[src="x"], svg, b').length,
                  [...document.scripts].map(s => s.src.split('/').pop())]"""
    )
    assert injected[0] == 0
    assert [name.split(".")[0] for name in injected[1]] == ["viewer"]
    problems.assert_none()
    assert dialogs == []


# --- a 100-picture album -----------------------------------------------------------------------

#: the page's own bytes (HTML, CSS, JavaScript), uncompressed and gzipped
BUDGET = 100_000
BUDGET_GZIPPED = 25_000


def test_a_100_picture_album_keeps_to_its_byte_budget(big_album: Served, browser: Browser):
    with new_page(browser) as page:
        fetched: dict[str, tuple[str, bytes]] = {}

        def record(response: Any) -> None:
            kind = response.request.resource_type
            if kind in ("document", "stylesheet", "script"):
                fetched[response.url] = (kind, response.body())

        page.on("response", record)
        load(page, big_album.at("album/"))
        assert page.locator(".pictures img").count() == 100
        kinds = sorted(kind for kind, _ in fetched.values())
        assert kinds == ["document", "script", "stylesheet", "stylesheet"], fetched.keys()
        raw = sum(len(body) for _, body in fetched.values())
        zipped = sum(len(gzip.compress(body)) for _, body in fetched.values())
        sizes = {urlsplit(url).path: len(body) for url, (_, body) in fetched.items()}
        assert raw < BUDGET, f"{raw} bytes of HTML, CSS and JS, over {BUDGET}: {sizes}"
        assert zipped < BUDGET_GZIPPED, f"{zipped} bytes gzipped, over {BUDGET_GZIPPED}: {sizes}"


def test_pictures_below_the_fold_load_only_when_scrolled_to(
    big_album: Served, browser: Browser
) -> None:
    with new_page(browser, viewport={"width": 1280, "height": 720}) as page:
        problems = problems_of(page)
        requested: list[str] = []
        page.on(
            "request",
            lambda r: (
                requested.append(urlsplit(r.url).path.rsplit("/", 1)[-1].split(".")[0])
                if r.resource_type == "image" and "/album/" in r.url
                else None
            ),
        )
        load(page, big_album.at("album/"))
        ids = slugs(page)
        first_load = set(requested)
        assert set(ids[:6]) <= first_load, "the first row was not fetched at once"
        assert len(requested) == len(first_load), "a picture was fetched twice"
        assert ids[-1] not in first_load and len(first_load) < len(ids), sorted(first_load)
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        page.wait_for_function(
            "() => [...document.images].slice(-5).every(i => i.complete && i.naturalWidth > 0)"
        )
        assert ids[-1] in requested
        problems.assert_none()


# --- originals and where requests go ------------------------------------------------------------


@pytest.fixture(scope="module")
def with_originals(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    """An album whose originals are published ([images] originals = true), one withheld for
    its GPS position (strip_gps, the default)."""
    source = tmp_path_factory.mktemp("orig") / "photos"
    pictures.jpeg(source / "Trip" / "Día 1.jpg", (800, 600), taken="2024:05:10 10:00:00")
    pictures.jpeg(source / "Trip" / "where.jpg", (800, 600), taken="2024:05:11 10:00:00",
                  gps=True)  # fmt: skip
    (source / "gallery.toml").write_text("[images]\noriginals = true\n")
    out = tmp_path_factory.mktemp("orig-site")
    build_gallery(source, out)
    with serving(out, "default") as served:
        yield served, source


def test_the_viewer_offers_the_original_only_where_it_is_published(
    with_originals: tuple[Served, Path], page: Page
) -> None:
    served, source = with_originals
    problems = problems_of(page)
    load(page, served.at("trip/"))
    first, second = slugs(page)
    page.click(f"a#{first}")
    wait_for_viewer(page, first)
    download = page.locator("dialog[open] a[download]")
    assert download.is_visible() and download.text_content() == "Download original"
    href = download.evaluate("a => a.href")
    response = page.request.get(href)
    original = source / "Trip" / "Día 1.jpg"
    assert response.status == 200 and response.body() == original.read_bytes()
    page.keyboard.press("ArrowRight")
    wait_for_viewer(page, second)
    assert not download.is_visible()  # its original holds a position: not published
    problems.assert_none()


def test_pages_request_nothing_from_another_site(served: Served, browser: Browser) -> None:
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(served.url))
    with new_page(browser) as page:
        problems_of(page, expected={"/photos/trip/nope/": 404})
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        for path, status in (("", 200), ("trip/", 200), ("trip/#x", None), ("trip/nope/", 404)):
            if status is None:  # a fragment: the same document, no response; Chromium
                page.goto(served.at(path))  # may fetch the icon again: let it finish
                _settlers[page]()
            else:
                load(page, served.at(path), status=status)
            page.wait_for_load_state("networkidle")
        load(page, served.at("trip/"))
        page.click(".pictures a[id]")
        page.wait_for_selector(VIEWER_IMG)
        page.wait_for_load_state("networkidle")
    assert requested and all(url.startswith(origin + "/") for url in requested), [
        url for url in requested if not url.startswith(origin + "/")
    ]
