"""``manifest.json``: what a built site contains, written and read here alone. Pure
functions, but for :func:`read_site_manifest`, which reads the built site's file.

The schema is a contract (docs/manifest.md): publishers diff two manifests to upload only what
changed, and users' scripts read it. A remote manifest is untrusted: :func:`read_remote_manifest`
checks every key and entry before the planner (gallery_builder.plan) sees it.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gallery_builder.errors import GalleryError
from gallery_builder.keys import key_problem
from gallery_builder.model import Album, Picture, Site
from gallery_builder.source_stages import PICTURE_EXTENSIONS

FORMAT = "gallery-builder/1"
MANIFEST_NAME = "manifest.json"
#: top-level fields owned by the core: a plugin's manifest fields may not replace them
CORE_FIELDS = frozenset(
    {"format", "name", "title", "base_path", "files", "albums", "images", "hosting", "encrypted"}
)


def image_entry(picture: Picture, fallback_format: str) -> dict[str, Any]:
    md = picture.metadata
    derivatives = {key: d.path for key, d in sorted(picture.derivatives.items())}
    thumbnail = picture.derivatives.get(f"thumb.{fallback_format}")
    if thumbnail is not None:
        derivatives["thumbnail"] = thumbnail.path
    entry: dict[str, Any] = {"source": picture.source.relpath, "md5": picture.md5}
    if picture.original:  # published as it is, at this site path (``[images] originals``)
        entry["original"] = picture.original
    entry |= {
        "album": picture.album_path,
        "slug": picture.slug,
        "width": md.width,
        "height": md.height,
        "taken": md.taken,
        "caption": md.caption,
        "camera": md.camera,
        "derivatives": derivatives,
        "sizes": {key: [d.width, d.height] for key, d in sorted(picture.derivatives.items())},
    }
    if md.extra:
        entry["extra"] = md.extra
    return entry


def album_entry(album: Album) -> dict[str, Any]:
    """The entry of ``album``, its sub-albums' nested in it (built without recursion)."""
    entry = _album_fields(album)
    stack = [(album, entry)]
    while stack:
        parent, parent_entry = stack.pop()
        for child in parent.children:
            child_entry = _album_fields(child)
            parent_entry["albums"].append(child_entry)
            stack.append((child, child_entry))
    return entry


def _album_fields(album: Album) -> dict[str, Any]:
    return {
        "path": album.path,
        "title": album.title,
        "description": album.description,
        "source": album.source_relpath,
        "cover": album.cover.source.relpath if album.cover else None,
        "pictures": [p.source.relpath for p in album.pictures],
        "albums": [],
    }


def build_manifest(
    site: Site,
    fallback_format: str,
    extra: dict[str, Any] | None = None,
    base_path: str = "/",
) -> dict[str, Any]:
    """The manifest of ``site``; ``extra`` holds plugin fields (not allowed to shadow core ones).
    ``base_path`` is the URL path the site was built to be served at (``[gallery] base_url``)."""
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "name": site.name,
        "title": site.title,
        "base_path": base_path,
        "files": {
            path: {
                "md5": f.md5,
                "size": f.size,
                "content_type": f.content_type,
                "cache_control": f.cache_control,
            }
            for path, f in sorted(site.files.items())
        },
        "albums": [album_entry(site.root)],
        "images": [
            image_entry(p, fallback_format) for album in site.albums() for p in album.pictures
        ],
    }
    for key, value in (extra or {}).items():
        if key in CORE_FIELDS:
            raise ValueError(f"a plugin tried to set the manifest's core field '{key}'")
        manifest[key] = value
    return manifest


def dumps(manifest: dict[str, Any]) -> bytes:
    """Stable bytes: same manifest, same bytes. One line per file and per image, so that
    diffs stay readable, written with json's C encoder (``indent`` would disable it)."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    lines = ["{"]
    fields = list(manifest.items())
    for index, (key, value) in enumerate(fields):
        comma = "," if index < len(fields) - 1 else ""
        if key == "files" and isinstance(value, dict) and value:
            lines.append(f"{encode(key)}:{{")
            items = list(value.items())
            entry = _FileEntryEncoder(encode)
            lines += [
                f"{encode(k)}:{entry(v)}{',' if i < len(items) - 1 else ''}"
                for i, (k, v) in enumerate(items)
            ]
            lines.append("}" + comma)
        elif key == "images" and isinstance(value, list) and value:
            lines.append(f"{encode(key)}:[")
            lines += [encode(v) + ("," if i < len(value) - 1 else "") for i, v in enumerate(value)]
            lines.append("]" + comma)
        else:
            lines.append(f"{encode(key)}:{encode(value)}{comma}")
    lines.append("}")
    return ("\n".join(lines) + "\n").encode("utf-8")


_FILE_FIELDS = ("md5", "size", "content_type", "cache_control")
_HEX_MD5 = re.compile(r"[0-9a-f]{32}")


class _FileEntryEncoder:
    """``encode(entry)`` for the entries of ``files``, the same bytes, faster: a large site
    has hundreds of thousands, whose content types and cache policies are a handful of
    strings (each encoded once) and whose MD5s are hex. Any other entry: ``encode`` it."""

    def __init__(self, encode: Any):
        self.encode = encode
        self.encoded: dict[str, str] = {}

    def __call__(self, entry: Any) -> str:
        if type(entry) is not dict or tuple(entry) != _FILE_FIELDS:
            return self.encode(entry)
        md5, size = entry["md5"], entry["size"]
        content_type, cache_control = entry["content_type"], entry["cache_control"]
        if not (
            type(md5) is str
            and _HEX_MD5.fullmatch(md5)
            and type(size) is int
            and type(content_type) is str
            and type(cache_control) is str
        ):
            return self.encode(entry)
        return (
            f'{{"md5":"{md5}","size":{size},"content_type":{self._text(content_type)},'
            f'"cache_control":{self._text(cache_control)}}}'
        )

    def _text(self, text: str) -> str:
        encoded = self.encoded.get(text)
        if encoded is None:
            encoded = self.encoded[text] = self.encode(text)
        return encoded


# --- reading: the built site's manifest, and a remote one (untrusted) -----------------------


def read_site_manifest(site: Path) -> tuple[dict[str, Any], bytes]:
    """The built site's manifest, parsed and as bytes (the one I/O of this module)."""
    path = site / MANIFEST_NAME
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise GalleryError(
            f"{site} has no {MANIFEST_NAME}: build the site first (gallery build SOURCE -o {site})"
        ) from None
    try:
        return json.loads(data), data
    except json.JSONDecodeError as exc:
        raise GalleryError(f"{path} is not JSON ({exc}); build the site again") from None


#: the headers a published object must carry, besides its content
HEADER_FIELDS = ("content_type", "cache_control")


class ManifestError(ValueError):
    """A manifest that cannot be read; the message says which and why."""


@dataclass(frozen=True)
class RemoteState:
    """What the last publish left: the files the gallery owns there, and the hosting record
    it applied (``{"fingerprint": ..., publisher fields}``). ``legacy`` marks the original
    script's flat manifest."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    hosting: dict[str, Any] | None = None
    legacy: bool = False
    exists: bool = False
    #: a publish started replacing files whose names stay (pages, originals) and did not
    #: finish: those live files may not be the ones ``files`` lists
    pending: bool = False
    #: a manifest.json that was not a gallery's, taken over (--take-over): it owns nothing
    taken_over: bool = False
    #: the keys (relative to the prefix) an unfinished publish was about to create: the
    #: gallery owns them too, and deletes those the site no longer has
    pending_creates: tuple[str, ...] = ()
    #: the remote manifest's whole content (ours, parsed), for the pending mark to carry
    content: dict[str, Any] = field(default_factory=dict)


#: what to do about a manifest.json this gallery cannot own
_ADVICE = (
    "publish to another prefix (-d PREFIX), or pass --take-over to replace that "
    f"{MANIFEST_NAME} with the gallery's (none of the files it lists is deleted)"
)
_MD5 = re.compile(r"[0-9a-fA-F]{32}")


class NewerFormat(ManifestError):
    """A manifest of a later gallery-builder: never taken over, never downgraded."""


def read_remote_manifest(data: bytes | None, *, take_over: bool = False) -> RemoteState:
    """Parse the remote ``manifest.json`` (None when there is none).

    Understands gallery-builder's format and the original script's flat
    ``{"relative/path.jpg": "<md5>"}``, whose entries carry no headers. Every key either
    lists must be a safe relative key (gallery_builder.keys), every entry of the right
    shape; anything else raises :class:`ManifestError` and nothing may be deleted. With
    ``take_over``, a manifest that is not a readable gallery's is owned from now on: the
    state says it exists (its ETag is the commit's base) but owns no file.
    """
    if data is None:
        return RemoteState()
    try:
        return _parse_remote(data)
    except NewerFormat:
        raise
    except ManifestError:
        if take_over:
            return RemoteState(exists=True, taken_over=True)
        raise


def _parse_remote(data: bytes) -> RemoteState:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestError(f"is not JSON ({exc}); {_ADVICE}") from None
    except RecursionError:
        raise ManifestError(f"is JSON nested too deeply to be a gallery's; {_ADVICE}") from None
    if not isinstance(manifest, dict):
        raise ManifestError(f"is not a JSON object but {_kind(manifest)}; {_ADVICE}")
    if manifest.get("format") == FORMAT:
        return _ours(manifest)
    if "format" in manifest:
        raise NewerFormat(
            f"is in format {manifest['format']!r}; this gallery-builder writes {FORMAT!r}: "
            "upgrade gallery-builder to publish here"
        )
    problem = _legacy_problem(manifest)
    if problem is None:
        return RemoteState(
            files={path: {"md5": md5.lower()} for path, md5 in manifest.items()},
            legacy=True,
            exists=True,
        )
    raise ManifestError(f"is not a gallery's: it holds {_kind(manifest)}, and {problem}; {_ADVICE}")


#: a key :func:`gallery_builder.keys.key_problem` accepts, in one match: '/'-separated names,
#: none empty, '.' or '..', without a backslash, a control character (Unicode's Cc) or a
#: surrogate (Cs); what it does not match is checked by key_problem itself, for the message
_SAFE_KEY = re.compile(
    r"(?!\.\.?(?:/|$))[^/\\\x00-\x1f\x7f-\x9f\ud800-\udfff]+"
    r"(?:/(?!\.\.?(?:/|$))[^/\\\x00-\x1f\x7f-\x9f\ud800-\udfff]+)*"
)


def _plainly_fine(key: Any, entry: Any) -> bool:
    """The common case, checked fast: a safe key, an entry with a string md5 and string (or
    absent) headers. Anything else goes through the full checks of :func:`_ours`."""
    if type(entry) is not dict or type(entry.get("md5")) is not str:
        return False
    content_type, cache_control = entry.get("content_type"), entry.get("cache_control")
    if not (content_type is None or type(content_type) is str):
        return False
    if not (cache_control is None or type(cache_control) is str):
        return False
    return type(key) is str and _SAFE_KEY.fullmatch(key) is not None


def _ours(manifest: dict[str, Any]) -> RemoteState:
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ManifestError(f"has no 'files' table ('files' is {_kind(files)}); {_ADVICE}")
    # a large gallery lists hundreds of thousands of files: the full checks (and their
    # messages) only for those the fast one does not pass, in the table's order
    doubtful = [(key, entry) for key, entry in files.items() if not _plainly_fine(key, entry)]
    for key, entry in doubtful:
        problem = key_problem(key)
        if problem:
            raise ManifestError(
                f"lists an unsafe key {key!r} ({problem}), which no gallery writes: nothing "
                f"was deleted or written; {_ADVICE}"
            )
        if not isinstance(entry, dict):
            raise ManifestError(
                f"lists {key!r} with {_kind(entry)} where an entry (an object) belongs; " + _ADVICE
            )
        if not isinstance(entry.get("md5"), str):
            raise ManifestError(
                f"lists {key!r} with md5 {_kind(entry.get('md5'))}, not a string; {_ADVICE}"
            )
        for name in HEADER_FIELDS:
            if not isinstance(entry.get(name), str | None):
                raise ManifestError(
                    f"lists {key!r} with {name} {_kind(entry[name])}, not a string; {_ADVICE}"
                )
    return RemoteState(
        files=files,
        hosting=hosting_record(manifest.get("hosting")),
        exists=True,
        pending=bool(manifest.get("pending")),
        pending_creates=_pending_creates(manifest.get("pending")),
        content=manifest,
    )


def _legacy_problem(manifest: dict[str, Any]) -> str | None:
    """Why ``manifest`` is not the original script's flat ``{picture path: md5}``, or None.

    Any flat object of strings is not enough (a web app's or a bundler's manifest.json is
    one too, and the files it lists are not ours to delete)."""
    for key, value in manifest.items():
        if not isinstance(value, str):
            return f"{key!r} maps to {_kind(value)}"
        if not _MD5.fullmatch(value):
            return (
                f"{key!r} maps to {value[:40]!r}, not an MD5 (the script mapped pictures to MD5s)"
            )
        problem = key_problem(key)
        if problem:
            return f"it lists an unsafe key {key!r} ({problem})"
        if posixpath.splitext(key)[1].lower() not in PICTURE_EXTENSIONS:
            return f"it lists {key!r}, not a picture (the original script listed pictures only)"
    return None


def _kind(value: object) -> str:
    """A short description of a JSON value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        names = ", ".join(repr(k) for k in list(value)[:5])
        return f"an object (with {names}{', ...' if len(value) > 5 else ''})"
    return type(value).__name__


def hosting_record(hosting: Any) -> dict[str, Any] | None:
    """The manifest's ``hosting`` as a record: an object whose ``fingerprint`` is a string
    (an older version wrote the fingerprint alone, as a string)."""
    if hosting is None:
        return None
    if isinstance(hosting, str):
        return {"fingerprint": hosting}
    if not isinstance(hosting, dict):
        raise ManifestError(f"has 'hosting' {_kind(hosting)}, not an object; {_ADVICE}")
    if not isinstance(hosting.get("fingerprint"), str):
        raise ManifestError(
            f"has a 'hosting' record whose fingerprint is {_kind(hosting.get('fingerprint'))}, "
            f"not a string; {_ADVICE}"
        )
    return hosting


def _pending_creates(pending: Any) -> tuple[str, ...]:
    """The keys a pending mark says its publish was about to create (``pending.creates``);
    an older mark (``"pending": true``) names none. Untrusted: anything but a list of clean
    relative paths is refused, since the next publish deletes them."""
    if not isinstance(pending, dict) or "creates" not in pending:
        return ()
    creates = pending["creates"]
    if not isinstance(creates, list) or not all(isinstance(k, str) for k in creates):
        raise ManifestError(f"has a 'pending.creates' that is not a list of paths; {_ADVICE}")
    for key in creates:
        if key_problem(key):
            raise ManifestError(
                f"lists {key!r} in 'pending.creates', which is not a clean relative path: "
                f"nothing was deleted or written; {_ADVICE}"
            )
    return tuple(sorted(set(creates)))
