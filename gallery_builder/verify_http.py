"""``gallery verify URL``: the live gallery as visitors get it, over HTTP (a website endpoint,
a CloudFront URL, ``gallery serve``). Checks, in order: for https the certificate; the
manifest (``BASE/manifest.json``, a gallery's, committed); every file it lists (HEAD, or a GET
where the server gives no ETag to compare with the MD5), ten at a time; each folder URL, the
slash redirect, a real 404 with the error page; for https, http:// redirecting to https://,
HSTS, nosniff and a content security policy."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.http_fetch import Fetcher, FetchError, Response, host_port, peer_certificate
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.verify import (
    REPAIR,
    LiveManifest,
    ObjectInfo,
    Problem,
    Report,
    compare_object,
    folders,
    read_live_manifest,
    sample,
)

#: requests at a time
HTTP_WORKERS = 10
#: the least HSTS max-age a gallery should send (one year)
HSTS_MIN_AGE = 31_536_000
_REDIRECTS = (301, 302, 303, 307, 308)
_MAX_AGE = re.compile(r"(?:^|;)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:;|$)", re.IGNORECASE)
_REPUBLISH = "run gallery publish --reconfigure (the hosting set-up serves it)"


def base_url(url: str) -> str:
    """The gallery's base URL, ending in ``/`` (a ``.../manifest.json`` given is its folder)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise SettingError(f"{url!r} is not a URL to check: write http(s)://host[/path/]")
    try:
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        raise SettingError(f"{url!r} has a bad port: write http(s)://host[:port][/path/]") from None
    path = parts.path or "/"
    if path.endswith("/" + MANIFEST_NAME):
        path = path[: -len(MANIFEST_NAME)]
    if not path.endswith("/"):
        path += "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


def _md5_etag(response: Response) -> str | None:
    etag = response.header("etag")
    if not etag or etag.startswith("W/"):
        return None
    etag = etag.strip('"')
    return etag.lower() if re.fullmatch(r"[0-9a-fA-F]{32}", etag) else None


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


class HttpVerifier:
    """The HTTP checks of one gallery at ``base``; adds to ``report``."""

    def __init__(
        self,
        base: str,
        report: Report,
        *,
        sample_n: int | None = None,
        warn_days: int = 30,
        fetcher: Fetcher | None = None,
        now: float | None = None,
    ) -> None:
        self.base = base_url(base)
        self.report = report
        self.sample_n = sample_n
        self.warn_days = warn_days
        self.fetcher = fetcher or Fetcher()
        self.now = time.time() if now is None else now
        #: files found missing: their folder checks would only say it again
        self.missing: set[str] = set()

    def url(self, path: str) -> str:
        return self.base + quote(path, safe="/")

    def problem(self, *args: Any) -> None:
        self.report.problems.append(Problem(*args))

    def get(self, url: str, method: str = "GET") -> Response | None:
        """An answer, or None with a problem named (the host stopped answering)."""
        self.report.count("urls")
        try:
            return self.fetcher.fetch(url, method)
        except FetchError as exc:
            self.problem("unreachable", url, "an HTTP answer", str(exc), "check the host")
            return None

    # --- the whole run ---------------------------------------------------------------------

    def run(
        self, expected_manifest: bytes | None = None, *, certificate: bool = True
    ) -> LiveManifest | None:
        """Every check; the manifest read (None when there is no gallery there).
        ``certificate=False``: the certificate was checked already."""
        host, port, scheme = host_port(self.base)
        if scheme == "https" and certificate and not self.check_certificate(host, port):
            return None  # nothing on this host can be trusted, or even read
        manifest_url = self.url(MANIFEST_NAME)
        try:
            answer = self.fetcher.fetch(manifest_url)
        except FetchError as exc:
            raise GalleryError(f"{exc}; check the URL ({self.base})") from None
        self.report.count("urls")
        if answer.status != 200:
            self.problem(
                "no-manifest", manifest_url, "200", str(answer.status),
                "not a gallery's URL (check it), or never published: run gallery publish",
            )  # fmt: skip
            return None
        live, problems = read_live_manifest(answer.body, manifest_url)
        self.report.problems += problems
        if live is None:
            return None
        if expected_manifest is not None and answer.body != expected_manifest:
            self.problem(
                "stale-manifest", manifest_url,
                hashlib.md5(expected_manifest).hexdigest(), hashlib.md5(answer.body).hexdigest(),
                "the public URL serves another manifest than the store holds (a cache?): "
                "wait a minute, or invalidate it in the CDN",
            )  # fmt: skip
        self.check_files(live)
        self.check_folders(live)
        self.check_not_found(live)
        if scheme == "https":
            self.check_https(live, answer)
        return live

    # --- files -----------------------------------------------------------------------------

    def observe(self, path: str) -> tuple[Response | None, ObjectInfo | None]:
        url = self.url(path)
        head = self.get(url, "HEAD")
        if head is None or head.status != 200:
            return head, None
        md5 = _md5_etag(head)
        size = _int(head.header("content-length"))
        if md5 is None:  # no ETag to compare: the bytes themselves
            full = self.get(url)
            if full is None or full.status != 200:
                return full, None
            md5, size = hashlib.md5(full.body).hexdigest(), len(full.body)
        info = ObjectInfo(md5, size, head.header("content-type"), head.header("cache-control"))
        return head, info

    def check_files(self, live: LiveManifest) -> None:
        paths = sample(live.files, self.sample_n)
        with ThreadPoolExecutor(max_workers=HTTP_WORKERS) as pool:
            answers = list(pool.map(self.observe, paths))
        self.report.count("http_files", len(paths))
        for path, (response, info) in zip(paths, answers, strict=True):
            url = self.url(path)
            if response is None:
                continue  # unreachable: named already
            if response.status == 404:
                self.missing.add(path)
                self.problem("missing", url, "200", "404", REPAIR)
            elif response.status != 200:
                self.problem(
                    "status", url, "200", str(response.status),
                    "the host refuses a file the gallery lists: check its permissions "
                    f"(bucket policy), or {REPAIR}",
                )  # fmt: skip
            else:
                self.report.problems += compare_object(path, live.files[path], info, url)

    # --- website semantics -----------------------------------------------------------------

    def check_folders(self, live: LiveManifest) -> None:
        found = folders(live.files)
        if self.sample_n is not None:
            found = found[: max(1, self.sample_n)]
        for folder in found:
            if f"{folder}index.html" in self.missing:
                continue
            url = self.url(folder)
            page = self.get(url)
            entry = live.files[f"{folder}index.html"]
            if page is None:
                continue
            if page.status != 200:
                self.problem(
                    "folder", url, f"200 with {folder}index.html", str(page.status),
                    "the host does not serve a folder's index.html: " + _REPUBLISH,
                )  # fmt: skip
            elif hashlib.md5(page.body).hexdigest() != entry.get("md5"):
                self.problem(
                    "folder", url, f"the bytes of {folder}index.html (md5 {entry.get('md5')})",
                    f"other bytes (md5 {hashlib.md5(page.body).hexdigest()})", REPAIR,
                )  # fmt: skip
            if folder:
                self.check_slash(folder)

    def check_slash(self, folder: str) -> None:
        url = self.url(folder.removesuffix("/"))
        answer = self.get(url)
        if answer is None:
            return
        location = answer.header("location")
        target = urljoin(url, location) if location else None
        if answer.status not in _REDIRECTS or target is None:
            self.problem(
                "slash-redirect", url, f"a redirect to {self.url(folder)}",
                f"{answer.status}" + (f" to {target}" if target else ""),
                "the host does not redirect a folder without its slash: " + _REPUBLISH,
            )  # fmt: skip
        elif urlsplit(target).path != urlsplit(self.url(folder)).path:
            self.problem(
                "slash-redirect", url, self.url(folder), target,
                "the redirect goes elsewhere: " + _REPUBLISH,
            )  # fmt: skip

    def check_not_found(self, live: LiveManifest) -> None:
        url = self.url(f"gallery-verify-{uuid.uuid4().hex[:12]}.html")
        answer = self.get(url)
        if answer is None:
            return
        if answer.status != 404:
            advice = (
                "the store refuses a missing key instead of answering 404: let the CDN list "
                "the bucket (s3:ListBucket), " + _REPUBLISH
                if answer.status == 403
                else "a missing page must answer 404, not a page: " + _REPUBLISH
            )
            self.problem("not-found", url, "404", str(answer.status), advice)
            return
        wanted = {live.files[name]["md5"] for name in ("error.html",) if name in live.files}
        got = hashlib.md5(answer.body).hexdigest()
        if got in wanted:
            return
        root = self.get(urljoin(self.base, "/error.html"))
        if root is not None and root.status == 200 and root.body == answer.body:
            return  # the bucket's root error page, which serves every gallery
        self.problem(
            "error-page", url, "the body of error.html", f"other bytes (md5 {got})",
            "the host's error document is not the gallery's error.html: " + _REPUBLISH,
        )  # fmt: skip

    # --- https -----------------------------------------------------------------------------

    def check_certificate(self, host: str, port: int) -> bool:
        self.report.count("certificates")
        try:
            cert = peer_certificate(host, port)
        except FetchError as exc:
            self.problem(
                "certificate", f"https://{host}:{port}/", "a valid certificate for " + host,
                str(exc),
                "renew or replace the certificate (ACM renews a DNS-validated one while its "
                "validation CNAME stays in the zone)",
            )  # fmt: skip
            return False
        days = (cert.not_after - self.now) / 86400
        expires = datetime.fromtimestamp(cert.not_after, UTC)
        self.report.certificate = {
            "host": host,
            "expires": expires.isoformat().replace("+00:00", "Z"),
            "days_left": int(days),
            "protocol": cert.protocol,
        }
        self.report.notes.append(
            f"certificate of {host} expires {expires:%Y-%m-%d} (in {int(days)} days)"
        )
        if days < self.warn_days:
            warning = Problem(
                "certificate-expiring", f"https://{host}:{port}/",
                f"more than {self.warn_days} days left", f"{int(days)} days",
                "renew it before it expires (ACM renews a DNS-validated certificate "
                "while its validation CNAME stays in the zone)",
            )  # fmt: skip
            self.report.warnings.append(warning)
        return True

    def check_https(self, live: LiveManifest, manifest: Response) -> None:
        parts = urlsplit(self.base)
        plain = urlunsplit(("http", parts.netloc, parts.path, "", ""))
        answer = self.get(plain)
        if answer is not None:
            target = urljoin(plain, answer.header("location") or "")
            if answer.status not in _REDIRECTS or not target.startswith("https://"):
                self.problem(
                    "http-redirect", plain, "a redirect to https://",
                    str(answer.status) + (f" to {target}" if answer.header("location") else ""),
                    "set the viewer protocol policy to redirect-to-https: " + _REPUBLISH,
                )  # fmt: skip
        page = self.get(self.base) if "index.html" in live.files else manifest
        if page is None:
            return
        hsts = page.header("strict-transport-security")
        age = _MAX_AGE.search(hsts or "")
        if age is None or int(age[1]) < HSTS_MIN_AGE:
            self.problem(
                "hsts", self.base, f"Strict-Transport-Security max-age >= {HSTS_MIN_AGE}",
                hsts, "add HSTS in the response-headers policy: " + _REPUBLISH,
            )  # fmt: skip
        nosniff = page.header("x-content-type-options")
        if (nosniff or "").strip().lower() != "nosniff":
            self.problem(
                "nosniff", self.base, "X-Content-Type-Options: nosniff", nosniff,
                "add it in the response-headers policy: " + _REPUBLISH,
            )  # fmt: skip
        if not page.header("content-security-policy"):
            self.problem(
                "csp", self.base, "a Content-Security-Policy", None,
                "add it in the response-headers policy: " + _REPUBLISH,
            )  # fmt: skip
