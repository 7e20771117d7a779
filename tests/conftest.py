"""Shared fixtures. Pictures are real files made by ``pictures.py``; nothing is mocked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gallery_builder.plugin_manager import BLOCK_ENV, NO_AUTOLOAD_ENV


@pytest.fixture(autouse=True)
def _only_our_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see gallery-builder's own plugins only, whatever else is installed; and no AWS
    settings of the machine's leak in."""
    monkeypatch.setenv(NO_AUTOLOAD_ENV, "1")
    monkeypatch.delenv(BLOCK_ENV, raising=False)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    return folder


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def site(source: Path, tmp_path: Path) -> Path:
    """A built site of three dated pictures in nested albums (root, Trip, Trip/Day)."""
    import pictures

    from gallery_builder.testing import build_gallery

    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Trip" / "b.jpg", taken="2024:01:02 10:00:00")
    pictures.png(source / "Trip" / "Day" / "c.png")
    out = tmp_path / "site"
    build_gallery(source, out)
    return out


def read_manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def site_files(out: Path) -> dict[str, bytes]:
    """Every published file of a built site (all but the build state) by relative path."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".gallery" not in p.relative_to(out).parts
    }


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and name in ("href", "src"):
                self.urls.append(value)
            elif value and name == "srcset":
                self.urls += [part.split()[0] for part in value.split(",") if part.strip()]


def links_of(html: str) -> list[str]:
    """Every URL a page links to or loads: href, src, and each srcset candidate."""
    parser = _Links()
    parser.feed(html)
    return parser.urls


#: a build of a few tiny pictures takes about a second; a hung build is killed after this
TIMEOUT = 60


def gallery(
    *args: str | Path,
    prefix: Sequence[str] = (),
    timeout: float = TIMEOUT,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``gallery ARGS`` in a child process (``prefix`` before it, e.g. setpriv),
    killed, and the test failed, if it hangs."""
    command = [*prefix, sys.executable, "-m", "gallery_builder", *map(str, args)]
    try:
        return subprocess.run(
            command, capture_output=True, text=True, errors="replace", timeout=timeout,
            cwd=cwd, env=None if env is None else {**os.environ, **env},
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"`gallery {' '.join(map(str, args))}` still running after {timeout} s")


@pytest.fixture(scope="session")
def unprivileged(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A command prefix that runs a program subject to file permissions."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.fail("tests run as root and need `setpriv` (util-linux) to drop privileges")
        prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all"]
    locked = tmp_path_factory.mktemp("probe") / "locked"
    locked.write_text("x")
    locked.chmod(0)
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", f"open({str(locked)!r}).read()"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if "PermissionError" not in probe.stderr:
        pytest.fail(
            f"cannot run a process that file permissions apply to ({prefix or 'as is'}): "
            f"it read a chmod 000 file; exit {probe.returncode}, stderr {probe.stderr!r}"
        )
    return prefix


# --- S3: a real moto server over HTTP on 127.0.0.1 (tests/s3env.py) ---------------------------

# the CloudFront tests' recording proxy and moto helpers (tests/cdnenv.py)
from cdnenv import cdn_proxy, cf, held, key_groups, stand_ins  # noqa: E402, F401
from s3env import FaultProxy, MotoServer, s3_client  # noqa: E402


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """One real moto server process for the whole run (one per xdist worker)."""
    with MotoServer() as server:
        yield server


@pytest.fixture
def s3_server(moto_server: MotoServer) -> MotoServer:
    """The moto server, emptied of every bucket before the test."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def s3(s3_server: MotoServer) -> Any:
    """A boto3 S3 client talking straight to the moto server."""
    return s3_client(s3_server.endpoint)


@pytest.fixture
def fault_proxy(s3_server: MotoServer) -> Iterator[FaultProxy]:
    """A fault-injecting proxy in front of the (emptied) moto server."""
    with FaultProxy(s3_server.endpoint) as proxy:
        yield proxy


@pytest.fixture
def aws_names(fault_proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Moto answering for AWS's own host names: ``aws_names(REGION)`` is the endpoint URL
    ``http://s3.REGION.amazonaws.com``, which every client of the process (botocore reads
    HTTP_PROXY) reaches through the proxy, forwarding to the moto server (which tells the
    region from the host name, as AWS does). ``fault_proxy.events`` shows each request's
    absolute URL, so its host: the region it went to."""
    monkeypatch.setenv("HTTP_PROXY", fault_proxy.endpoint)
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    return lambda region: f"http://s3.{region}.amazonaws.com"


def aws_client(endpoint: str, proxy: FaultProxy, region: str) -> Any:
    """A boto3 S3 client for an ``aws_names`` endpoint, through ``proxy``."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", region_name=region, endpoint_url=endpoint, aws_access_key_id="testing",
        aws_secret_access_key="testing", config=Config(proxies={"http": proxy.endpoint}),
    )  # fmt: skip


# --- Browser: Debian's Chromium via Playwright (tests/browserenv.py) ---------------------------

from typing import TYPE_CHECKING  # noqa: E402

import browserenv  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright's sync API, started once for the whole run (once per xdist worker)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail(f"the browser tests need Playwright ({error}): {browserenv.INSTALL_HINT}")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """One headless Debian Chromium for the whole run (browserenv.launch_chromium)."""
    browser = browserenv.launch_chromium(playwright_instance)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new browser context (own cookies, storage and cache), closed after the
    test; every action and wait times out after browserenv.TIMEOUT_MS."""
    context = browser.new_context()
    context.set_default_timeout(browserenv.TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()
