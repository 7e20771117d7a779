"""A real browser for tests: Debian's Chromium driven by Playwright, axe-core checks, and a
recorder of what went wrong in a page.

- Chromium is Debian's package (``apt-get install chromium``), never a browser Playwright
  downloads: :func:`launch_chromium` passes ``executable_path``. ``GALLERY_CHROMIUM`` names
  another binary.
- axe-core comes from the npm registry, pinned in ``package.json``/``package-lock.json`` at the
  repository root and installed by ``npm ci`` into ``node_modules/``. :func:`run_axe` injects
  it into a page through the DevTools protocol, so a page's Content-Security-Policy cannot
  block it and it leaves no console error behind.
- :class:`PageProblems` collects console errors, uncaught exceptions, failed requests, HTTP
  errors and Content-Security-Policy violations of a page, so that a test can assert there
  were none; :func:`problems_of` gives a page's one collector.

A missing part is an error with the command that installs it, never a skip.

This is a plain module with no pytest fixtures, so that any test module can import it; the
fixtures (``playwright_instance``, ``browser``, ``page``) are in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import itertools
import os
import re
import shutil
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Error,
        Page,
        Playwright,
        Request,
        Response,
    )

#: the repository's root, where ``package.json`` and ``node_modules/`` are
ROOT = Path(__file__).resolve().parent.parent

#: environment variable naming the Chromium binary to use instead of Debian's
CHROMIUM_ENV = "GALLERY_CHROMIUM"

#: where Debian's ``chromium`` package puts its launcher
DEBIAN_CHROMIUM = "/usr/bin/chromium"

#: how to install what is missing; the README's test command does all of it
INSTALL_HINT = (
    "install the test environment as the README's test command does: "
    "`apt-get update && apt-get install -y chromium && npm ci && "
    "python -m pip install -e '.[test]'`"
)

#: the axe-core build injected into pages, as ``npm ci`` installs it
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"

#: default timeout of every Playwright action and wait, in milliseconds (Playwright's own is
#: 30 s); a page of a local test server answers in well under a second
TIMEOUT_MS = 15_000

#: everything listens and connects on the loopback address only
HOST = "127.0.0.1"

#: Chromium's switches. Playwright adds most of them itself (and ``--headless``); they are
#: listed so that the launch does not depend on Playwright's defaults.
CHROMIUM_ARGS: tuple[str, ...] = (
    # tests run as root, where Chromium's sandbox cannot start
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # no connections of Chromium's own (updates, sync, safe browsing, ...): this machine's
    # network is closed and refuses them
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Even with the switches above, Chromium looks up accounts.google.com and
    # update.googleapis.com by DNS at every start. With this one it reaches no host but
    # 127.0.0.1 and localhost (the rules apply to address literals too), so nothing leaves
    # the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
)


class BrowserEnvError(RuntimeError):
    """A part of the browser test environment is missing."""


# --- Chromium ----------------------------------------------------------------------------------


def chromium_path() -> str:
    """The Chromium binary the tests use: ``$GALLERY_CHROMIUM``, else Debian's."""
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        found = shutil.which(named)
        if found is None:
            raise BrowserEnvError(f"{CHROMIUM_ENV}={named!r} is not an executable program")
        return found
    if os.access(DEBIAN_CHROMIUM, os.X_OK):
        return DEBIAN_CHROMIUM
    found = shutil.which("chromium")
    if found is None:
        raise BrowserEnvError(
            f"the browser tests need Debian's Chromium at {DEBIAN_CHROMIUM} (or {CHROMIUM_ENV} "
            f"naming a Chromium binary), and there is none: {INSTALL_HINT}"
        )
    return found


def launch_chromium(playwright: Playwright, **options: Any) -> Browser:
    """Start headless Chromium (Debian's, see :func:`chromium_path`) with :data:`CHROMIUM_ARGS`.

    ``options`` go to Playwright's ``chromium.launch`` (e.g. ``slow_mo``); ``args`` in them
    are added after :data:`CHROMIUM_ARGS`."""
    executable = chromium_path()
    args = [*CHROMIUM_ARGS, *options.pop("args", ())]
    options.setdefault("headless", True)
    return playwright.chromium.launch(executable_path=executable, args=args, **options)


# --- axe-core ----------------------------------------------------------------------------------


@functools.cache
def axe_source() -> str:
    """The source of axe-core's ``axe.min.js`` as ``npm ci`` installed it."""
    try:
        return AXE_PATH.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BrowserEnvError(
            f"axe-core is not installed ({AXE_PATH} is missing): run `npm ci` in {ROOT}"
        ) from None


#: axe's impact levels that a test fails on
SERIOUS = frozenset({"serious", "critical"})

_RUN_AXE = """async ([context, options]) => {
    const results = await axe.run(context ?? document, options ?? {});
    return results.violations;
}"""


def run_axe(
    page: Page, context: str | None = None, options: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run axe-core on ``page`` (or on the part that the CSS selector ``context`` picks) and
    return its violations, as axe reports them: each a dict with ``id``, ``impact``, ``help``,
    ``helpUrl`` and ``nodes`` (each with ``target`` and ``failureSummary``).

    ``options`` are axe's run options, e.g. ``{"runOnly": ["wcag2a", "wcag2aa"]}``."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated as a script through the DevTools protocol, not added as a <script>: a
        # page's CSP would block an inline script and log a console error for it. The
        # trailing statement keeps Playwright from taking the text for a function to call.
        page.evaluate(axe_source() + "\n;void 0")
    return page.evaluate(_RUN_AXE, [context, dict(options or {})])


def serious_violations(violations: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The violations whose impact is serious or critical."""
    return [v for v in violations if v.get("impact") in SERIOUS]


def format_violations(violations: Sequence[Mapping[str, Any]]) -> str:
    """Violations as readable lines for an assertion message: rule, impact, what it asks and
    the elements that break it."""
    if not violations:
        return "no axe violations"
    lines = [f"{len(violations)} axe violation(s):"]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation.get('impact')}): {violation.get('help')} "
            f"[{violation.get('helpUrl')}]"
        )
        for node in violation.get("nodes", ()):
            target = " ".join(map(str, node.get("target", ())))
            lines.append(f"    at {target}: {node.get('html', '')[:200]}")
            summary = node.get("failureSummary")
            if summary:
                lines.extend(f"      {line}" for line in summary.splitlines())
    return "\n".join(lines)


def assert_no_serious_violations(
    page: Page, context: str | None = None, options: Mapping[str, Any] | None = None
) -> None:
    """Fail, listing them, if axe finds a serious or critical violation in ``page``."""
    serious = serious_violations(run_axe(page, context, options))
    assert not serious, f"{page.url}: {format_violations(serious)}"


# --- What went wrong in a page ----------------------------------------------------------------

# Chromium logs every HTTP error and failed load of a resource as a console error too
_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")


#: reports each ``securitypolicyviolation`` event of every document the page loads to the
#: exposed function named in it, at once (so a violation is kept though the page moves on)
_CSP_RECORDER = """document.addEventListener('securitypolicyviolation', (event) => {
    window[%r]({directive: event.effectiveDirective, blocked: event.blockedURI,
                sample: event.sample, source: event.sourceFile, line: event.lineNumber,
                document: event.documentURI});
}, true);"""

_recorder_names = itertools.count()


def describe_violation(report: Mapping[str, Any]) -> str:
    """A CSP violation report as one readable line."""
    where = f" at {report.get('source')}:{report.get('line')}" if report.get("source") else ""
    sample = f" ({report.get('sample')!r})" if report.get("sample") else ""
    return (
        f"CSP violation: {report.get('directive')} blocked {report.get('blocked') or '?'}"
        f"{sample} in {report.get('document')}{where}"
    )


class PageProblems:
    """Everything that went wrong in one page: console errors, uncaught exceptions, failed
    requests, HTTP responses of status 400 or more, Content-Security-Policy violations (its
    ``securitypolicyviolation`` events, in :attr:`csp_violations`), and a crash of the page.

    Attach it before loading: ``problems = PageProblems(page)``, then ``page.goto(...)``,
    interact, and ``problems.assert_none()``. An HTTP error that the test means to cause is
    declared with ``expected`` or :meth:`expect` (by full URL, or by path, with its query if
    it has one) and then recorded neither as a response nor as the console error Chromium
    logs for it.

    Playwright delivers a page's events while the test calls Playwright, so
    :meth:`assert_none` makes one round trip to the page first; an event that comes later
    (a timer, a request started after ``load``) needs the test to wait for it.

    Chromium fetches ``/favicon.ico`` by itself after a page loads unless the page names an
    icon (``<link rel="icon" href="...">``); a 404 for it shows only as a console error.
    """

    def __init__(self, page: Page, expected: Mapping[str, int] | None = None) -> None:
        self.page = page
        self.expected: dict[str, int] = dict(expected or {})
        #: one readable line per problem, in the order they happened
        self.problems: list[str] = []
        #: every console message, whatever its type, for diagnostics
        self.console: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", self._on_page_error)
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)
        page.on("crash", self._on_crash)
        #: each CSP violation as the browser reported it (directive, blocked, sample, ...)
        self.csp_violations: list[dict[str, Any]] = []
        # An exposed function and an init script outlive navigations and a page's CSP (both
        # go through the DevTools protocol); the init script runs before the page's own.
        name = f"__galleryCspViolation{next(_recorder_names)}"
        page.expose_function(name, self._on_csp_violation)
        page.add_init_script(_CSP_RECORDER % name)

    def expect(self, url_or_path: str, status: int) -> None:
        """Declare that ``url_or_path`` is meant to answer ``status`` (e.g. 404)."""
        self.expected[url_or_path] = status

    def is_expected(self, url: str, status: int) -> bool:
        parts = urlsplit(url)
        names = {url, parts.path, f"{parts.path}?{parts.query}" if parts.query else parts.path}
        return any(self.expected.get(name) == status for name in names)

    def _on_console(self, message: ConsoleMessage) -> None:
        where = message.location.get("url", "")
        self.console.append(f"{message.type}: {message.text} ({where})")
        if message.type != "error":
            return
        failed = _FAILED_LOAD.match(message.text)
        if failed and self.is_expected(where, int(failed[1])):
            return
        self.problems.append(f"console error: {message.text} (at {where})")

    def _on_page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught exception: {error.stack or error.message}")

    def _on_request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _on_response(self, response: Response) -> None:
        if response.status >= 400 and not self.is_expected(response.url, response.status):
            self.problems.append(
                f"HTTP {response.status}: {response.request.method} {response.url}"
            )

    def _on_csp_violation(self, report: dict[str, Any]) -> None:
        self.csp_violations.append(report)

    def _on_crash(self, page: Page) -> None:
        self.problems.append(f"page crashed: {page.url}")

    def flush(self) -> None:
        """Receive the events the browser has sent so far."""
        if not self.page.is_closed():
            self.page.evaluate("0")

    def all(self) -> list[str]:
        """Every problem so far, CSP violations last."""
        return [*self.problems, *map(describe_violation, self.csp_violations)]

    def __str__(self) -> str:
        found = self.all()
        if not found:
            return "no problems"
        return "\n".join([f"{len(found)} problem(s) in the page:", *found])

    def assert_none(self) -> None:
        """Fail, listing them, if anything went wrong in the page so far."""
        self.flush()
        assert not self.all(), f"{self.page.url}: {self}"


_collectors: weakref.WeakKeyDictionary[Page, PageProblems] = weakref.WeakKeyDictionary()


def problems_of(page: Page, expected: Mapping[str, int] | None = None) -> PageProblems:
    """The page's :class:`PageProblems`, made on the first call (attach it before loading);
    ``expected`` HTTP errors are added to it."""
    problems = _collectors.get(page)
    if problems is None:
        problems = _collectors[page] = PageProblems(page)
    problems.expected.update(expected or {})
    return problems


# --- A static file server for this module's own tests -----------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` over HTTP on 127.0.0.1 in a thread; yields the base URL (ending in
    ``/``). Plain files only: the gallery's own pages are served with ``gallery serve``."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer((HOST, 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="static-server", daemon=True
    )
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
