"""``manifest.json``: what a built site contains. Pure functions, no I/O.

The schema is a contract (docs/manifest.md): publishers diff two manifests to upload only what
changed, and users' scripts read it.
"""

from __future__ import annotations

import json
from typing import Any

from gallery_builder.model import Album, Picture, Site

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
            lines += [
                f"{encode(k)}:{encode(v)}{',' if i < len(items) - 1 else ''}"
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
