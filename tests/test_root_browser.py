"""The bucket root's pages in headless Chromium, served by ``gallery serve file://...``
(TargetFolder: the folder laid out like the bucket): the listing of two galleries and the root
error.html, in the default and the minimal theme, light and dark, on a desktop and a phone,
with the project's checks (no page problem, axe finds nothing serious, no sideways scroll)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browserenv import assert_no_serious_violations, problems_of
from playwright.sync_api import Browser, Page
from test_browser import DEVICES, PHONE, assert_no_sideways_scroll, load, new_page
from test_bucket_root import make_site

from gallery_builder.serve import TargetFolder, make_server, serve_in_thread
from gallery_builder.testing import run_cli

MISSING = "/butterflies/no/such/page.html"


@pytest.fixture(scope="module", params=["default", "minimal"])
def root_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Two galleries published into one folder, the second built with the theme; served."""
    theme = request.param
    tmp = tmp_path_factory.mktemp(f"root-{theme}")
    www = tmp / "www"
    # a long title with no break opportunity: it must wrap on a phone, not widen the page
    first = make_site(tmp, "butterflies", "Butterflies_of_the_Botanical_Garden_Glasshouse", 2023)
    second = make_site(tmp, "constantinople", "Constantinople", 2024, n=3, theme=theme)
    for site in (first, second):
        result = run_cli(["publish", www.as_uri(), "--site", site])
        assert result.exit_code == 0, result.output
    server = make_server(TargetFolder(www), port=0)
    serve_in_thread(server)
    try:
        yield theme, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def styled(page: Page) -> bool:
    return page.evaluate(
        """() => [...document.styleSheets].some(s => s.href
               && /\\/_root\\/style\\.[0-9a-f]{8}\\.css$/.test(s.href) && s.cssRules.length > 0)
           && getComputedStyle(document.body).marginTop === '0px'"""
    )


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    with new_page(browser, **DEVICES["desktop"]) as page:
        yield page


def test_the_listing_shows_every_gallery_with_its_cover_and_links_to_it(root_url, desktop):
    theme, url = root_url
    problems = problems_of(desktop)
    load(desktop, url)
    assert styled(desktop)
    assert desktop.title() == "Galleries"
    cards = desktop.locator(".album-card")
    assert cards.count() == 2
    assert cards.nth(0).locator(".album-title").inner_text() == "Constantinople"
    assert "3 pictures" in cards.nth(0).locator(".album-count").inner_text()
    desktop.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth)")
    assert desktop.evaluate("() => document.images.length") == 2
    if theme == "minimal":
        assert desktop.locator("footer.site-footer").is_visible()
    with desktop.expect_navigation():
        cards.nth(1).click()
    assert desktop.url == url + "butterflies/"
    assert desktop.locator("h1").inner_text().startswith("Butterflies_of")
    problems.assert_none()


def test_a_missing_page_of_any_gallery_gets_the_root_error_page(root_url, desktop) -> None:
    _, url = root_url
    problems = problems_of(desktop, expected={MISSING: 404})
    load(desktop, url.rstrip("/") + MISSING, status=404)
    assert desktop.title().startswith("Not found") and styled(desktop)
    with desktop.expect_navigation():
        desktop.get_by_role("link", name="See all galleries").click()
    assert desktop.url == url and desktop.locator(".album-card").count() == 2
    problems.assert_none()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_nothing_serious_on_the_root_pages(root_url, browser: Browser, scheme: str):
    _, url = root_url
    options = None if scheme == "light" else {"runOnly": ["color-contrast", "link-in-text-block"]}
    with new_page(browser, color_scheme=scheme) as page:
        problems_of(page, expected={MISSING: 404})
        load(page, url)
        assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") == (
            scheme == "dark"
        )
        assert_no_serious_violations(page, options=options)
        load(page, url.rstrip("/") + MISSING, status=404)
        assert_no_serious_violations(page, options=options)
        load(page, url + "private.html")
        assert_no_serious_violations(page, options=options)


def test_the_private_page_says_how_to_get_a_new_invitation(root_url, desktop) -> None:
    """What CloudFront answers (403) a private gallery's visitor without a valid invitation,
    at any depth: themed, and linking from the root."""
    _, url = root_url
    problems = problems_of(desktop)
    load(desktop, url + "private.html")
    assert desktop.title() == "Private · Galleries" and styled(desktop)
    text = desktop.locator("main").inner_text()
    assert "This gallery is private" in text and "ask the person who shared" in text
    with desktop.expect_navigation():
        desktop.get_by_role("link", name="See all galleries").click()
    assert desktop.url == url and desktop.locator(".album-card").count() == 2
    problems.assert_none()


def test_a_phone_never_scrolls_sideways_on_the_root_pages(root_url, browser: Browser) -> None:
    _, url = root_url
    with new_page(browser, **PHONE, device_scale_factor=3) as page:
        problems = problems_of(page, expected={MISSING: 404})
        load(page, url)
        assert_no_sideways_scroll(page)
        box = page.locator(".album-card").nth(1).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, box
        load(page, url.rstrip("/") + MISSING, status=404)
        assert_no_sideways_scroll(page)
        problems.assert_none()
