"""``gallery verify``: what was observed of a live gallery, compared with its manifest. Pure
functions, no I/O (the S3/file checks are in verify_store, the HTTP ones in verify_http).

A :class:`Problem` is one thing wrong, named: its ``kind``, where (a key or a URL), what the
manifest (or the rule) expects, what was found, and what to do. A :class:`Report` gathers the
problems, the warnings (not failures: a certificate that expires soon) and what was checked;
:meth:`Report.to_json` is the ``--json`` form (docs/publishing.md#gallery-verify).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from gallery_builder.manifest import (
    MANIFEST_NAME,
    ManifestError,
    RemoteState,
    read_remote_manifest,
)

#: the ``--json`` schema's name; a change that breaks a reader gets a new one
SCHEMA = "gallery-verify/1"

#: what to do about a file that is missing or damaged in the store
REPAIR = "run gallery publish --repair"


@dataclass(frozen=True)
class ObjectInfo:
    """What the store holds under a key. ``md5`` is None when the store gives no MD5 for it
    (a multipart upload's ETag, a server without ETags); with ``headers=False`` the store keeps
    no headers (a folder), and ``content_type``/``cache_control`` are not checked."""

    md5: str | None
    size: int | None
    content_type: str | None = None
    cache_control: str | None = None
    headers: bool = True


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the live gallery."""

    kind: str
    where: str
    expected: str | None = None
    found: str | None = None
    advice: str = ""

    def line(self) -> str:
        """One line: what, where, expected vs found, what to do."""
        text = f"{self.kind}: {self.where}"
        if self.expected is not None or self.found is not None:
            text += f": expected {_shown(self.expected)}, found {_shown(self.found)}"
        return f"{text}; {self.advice}" if self.advice else text

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "where": self.where,
            "expected": self.expected,
            "found": self.found,
            "advice": self.advice,
        }


def _shown(value: str | None) -> str:
    return "nothing" if value is None else repr(value)


@dataclass
class Report:
    """Everything one ``gallery verify`` found."""

    target: str
    #: how many of each thing were checked: files (through the store's API), urls (HTTP)
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: facts worth a line (the certificate's expiry, the public URL checked)
    notes: list[str] = field(default_factory=list)
    #: the certificate's expiry, for --json: {"host", "expires" (ISO 8601), "days_left"}
    certificate: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n

    def summary(self) -> str:
        done = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in self.checked.items())
        verdict = "ok" if self.ok else f"{len(self.problems)} problem(s)"
        warned = f", {len(self.warnings)} warning(s)" if self.warnings else ""
        return f"{self.target}: {verdict}{warned} ({done or 'nothing'} checked)"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "target": self.target,
            "ok": self.ok,
            "checked": dict(self.checked),
            "problems": [p.to_json() for p in self.problems],
            "warnings": [w.to_json() for w in self.warnings],
            "certificate": self.certificate,
            "notes": list(self.notes),
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


@dataclass(frozen=True)
class LiveManifest:
    """A live gallery's manifest, read: its files, the hosting record, and the raw bytes."""

    state: RemoteState
    hosting: dict[str, Any]
    data: bytes

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.state.files


def hosting_record(value: Any) -> dict[str, Any]:
    """The manifest's ``hosting`` as a record: a dict as it is, a string (an older version's
    fingerprint) as ``{"fingerprint": s}``, anything else (none) as ``{}``."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        return {"fingerprint": value}
    return {}


def read_live_manifest(data: bytes | None, where: str) -> tuple[LiveManifest | None, list[Problem]]:
    """Parse a live ``manifest.json`` (None: there is none). Problems: none there, not a
    gallery's, still pending (a publish runs, or died)."""
    if data is None:
        return None, [
            Problem(
                "no-manifest",
                where,
                expected="a gallery's manifest.json",
                found=None,
                advice="not a gallery (check the target and -d PREFIX), or never published: "
                "run gallery publish",
            )
        ]
    hosting: Any = None
    body = data
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raw = None
    if isinstance(raw, dict) and "hosting" in raw:
        # the record's shape is this module's business (hosting_record), not the planner's
        hosting = raw.pop("hosting")
        body = json.dumps(raw).encode()
    try:
        state = read_remote_manifest(body)
    except ManifestError as exc:
        return None, [Problem("not-a-gallery", where, advice=f"the manifest {exc}")]
    if state.legacy:
        return None, [
            Problem(
                "not-a-gallery",
                where,
                expected="a gallery-builder manifest",
                found="the original script's flat manifest",
                advice="publish the gallery with gallery publish first",
            )
        ]
    problems = []
    if state.pending:
        problems.append(
            Problem(
                "pending",
                where,
                expected="a committed manifest",
                found="a pending mark (a publish is running, or one died before its commit)",
                advice="wait for the publish to finish, or run gallery publish again",
            )
        )
    return LiveManifest(state, hosting_record(hosting), data), problems


def compare_objects(
    files: dict[str, dict[str, Any]],
    observed: dict[str, ObjectInfo | None],
    where: Callable[[str], str] = lambda path: path,
) -> list[Problem]:
    """Every way the objects ``observed`` (path -> what is there, None: nothing) differ from
    the manifest's ``files`` (path -> entry); a path not in ``observed`` was not checked."""
    problems: list[Problem] = []
    for path, entry in sorted(files.items()):
        if path not in observed:
            continue
        problems += compare_object(path, entry, observed[path], where(path))
    return problems


def compare_object(
    path: str, entry: dict[str, Any], found: ObjectInfo | None, where: str
) -> list[Problem]:
    """How one object differs from its manifest entry."""
    if found is None:
        return [Problem("missing", where, expected="the file", found=None, advice=REPAIR)]
    problems = []
    if found.md5 is not None and found.md5.lower() != str(entry.get("md5", "")).lower():
        problems.append(Problem("md5", where, entry.get("md5"), found.md5, REPAIR))
    size = entry.get("size")
    if found.size is not None and isinstance(size, int) and found.size != size:
        problems.append(Problem("size", where, str(size), str(found.size), REPAIR))
    if found.headers:
        for name, value in (("content_type", found.content_type),
                            ("cache_control", found.cache_control)):  # fmt: skip
            wanted = entry.get(name)
            if isinstance(wanted, str) and value != wanted:
                problems.append(Problem(name.replace("_", "-"), where, wanted, value, REPAIR))
    return problems


def sample(paths: Iterable[str], n: int | None) -> list[str]:
    """At most ``n`` of ``paths`` (all when None), spread evenly over the sorted list, pages
    first so that the folder checks keep something to check."""
    ordered = sorted(paths, key=lambda p: (not p.endswith(".html"), p))
    if n is None or n >= len(ordered):
        return ordered
    if n <= 0:
        return []
    step = len(ordered) / n
    return [ordered[int(i * step)] for i in range(n)]


def folders(files: Iterable[str]) -> list[str]:
    """The folders whose ``index.html`` the manifest lists (``""`` the gallery's own): each
    answers at ``folder/`` and redirects from ``folder``."""
    found = []
    for path in files:
        if path == "index.html":
            found.append("")
        elif path.endswith("/index.html"):
            found.append(path.removesuffix("index.html"))
    return sorted(found)


def manifest_key(prefix: str) -> str:
    return f"{prefix}/{MANIFEST_NAME}" if prefix else MANIFEST_NAME


def public_url(hosting: dict[str, Any], prefix: str = "") -> str | None:
    """The gallery's public URL from its hosting record, if it names one: the CDN's root
    (``cdn.url``, else ``https://`` + ``cdn.alias`` / ``cdn.domain`` / ``cdn.domain_name``),
    else the record's ``url`` / ``website_url``; each is the bucket's root, shared by every
    gallery in it, and the gallery is at ``PREFIX/`` below it."""
    root = None
    cdn = hosting.get("cdn")
    if isinstance(cdn, dict):
        if isinstance(cdn.get("url"), str) and cdn["url"]:
            root = cdn["url"]
        else:
            for name in ("alias", "domain", "domain_name"):
                if isinstance(cdn.get(name), str) and cdn[name]:
                    root = f"https://{cdn[name]}/"
                    break
    for name in ("url", "website_url"):
        if root is None and isinstance(hosting.get(name), str) and hosting[name]:
            root = hosting[name]
    if root is None or not root.startswith(("http://", "https://")):
        return None
    return root.rstrip("/") + "/" + (quote(prefix) + "/" if prefix else "")


def is_private(hosting: dict[str, Any]) -> bool:
    """Whether the hosting record says the bucket is private (served by a CDN)."""
    return bool(hosting.get("cdn"))
