"""The build's first stages, from source files to pictures: scan (the ``gallery_scan``
hooks), examine each source (identify, fingerprint, read its metadata; what the build state
knows of an unchanged file is reused), keep the usable ones, and give albums and pictures
their slugs. Called by gallery_builder.pipeline in that order.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from gallery_builder import gps, metaformats, slugs, unsupported
from gallery_builder.config import Config
from gallery_builder.errors import BadPicture
from gallery_builder.model import Metadata, Picture, Source
from gallery_builder.plugin_manager import GalleryPluginManager, collected, required
from gallery_builder.sourcefilter import unsupported_media_of
from gallery_builder.state import BuildState, SourceRecord, metadata_json

#: file names that promise a picture: a file so named that is not one is reported, not ignored
PICTURE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".avif"}
)
#: the start of the reason for a file that could not be read: retried on the next build
CANNOT_READ = "cannot read"


def scan(pm: GalleryPluginManager, config: Config, exclude: list[Path]) -> list[Source]:
    seen: dict[str, Source] = {}
    for source in collected(pm.hook.gallery_scan(config=config, exclude=exclude)):
        seen.setdefault(source.relpath, source)
    return [seen[relpath] for relpath in sorted(seen)]


@dataclass
class Found:
    source: Source
    md5: str
    metadata: Metadata


def examine(
    pm: GalleryPluginManager,
    config: Config,
    state: BuildState,
    sources: list[Source],
    force: bool,
    refresh: bool,
) -> dict[str, SourceRecord]:
    """Identify, fingerprint and read the metadata of each source, reusing what the state
    knows about unchanged files (the same record object, so comparing is cheap).

    ``refresh`` (the settings, plugins or versions changed) identifies and reads every file
    again, for plugins may answer differently now; only the MD5 of an unchanged file is kept.
    """
    records: dict[str, SourceRecord] = {}
    for source in sources:
        old = state.sources.get(source.relpath)
        if old is None or force or (old.error or "").startswith(CANNOT_READ):
            record = read_source(pm, config, source, None)  # a failure to read is not remembered
        elif old.matches(source) and not refresh:
            record = old
        elif old.md5 and (old.size, old.mtime_ns) == (source.size, source.mtime_ns):
            record = read_source(pm, config, source, old.md5)  # same content: no need to hash it
        else:
            record = read_source(pm, config, source, None)
        records[source.relpath] = record
    return records


def usable(
    pm: GalleryPluginManager,
    config: Config,
    sources: list[Source],
    records: dict[str, SourceRecord],
) -> list[Found]:
    """The pictures that can be part of the site, with their metadata. Metadata kept in the
    state that cannot be decoded (a damaged state) is read again from the file."""
    found = []
    for s in sources:
        r = records[s.relpath]
        if not (r.kind and r.md5 and r.metadata_json and not r.error):
            continue
        metadata = r.decoded_metadata()
        if metadata is None:
            r = records[s.relpath] = read_source(pm, config, s, None)
            if not (r.kind and r.md5 and r.metadata_json and not r.error):
                continue
            metadata = r.metadata
        found.append(Found(s, r.md5, metadata))
    return found


def is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode() turned the bad bytes into surrogates
        return False
    return True


def printable(name: str) -> str:
    """``name`` with the bytes that are not UTF-8 shown as ``\xe9``."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def read_source(
    pm: GalleryPluginManager, config: Config, source: Source, md5: str | None
) -> SourceRecord:
    """What a source is, its MD5 (unless known) and its metadata, or why it cannot be used."""
    record = SourceRecord(
        source.relpath, source.size, source.mtime_ns, source.sidecar, source.sidecar_mtime_ns, ""
    )
    try:
        kind = pm.hook.gallery_identify(source=source, config=config) or ""
        if not kind:
            media = unsupported_media_of(source)
            if media:  # named until it is supported, never dropped without a word
                return dataclasses.replace(record, error=unsupported.reason(media))
            if os.path.splitext(source.relpath)[1].lower() not in PICTURE_EXTENSIONS:
                return record  # not a picture and does not pretend to be: ignored
            reason = "empty file" if source.size == 0 else "not a picture (unknown content)"
            return dataclasses.replace(record, error=reason)
        md5 = md5 or required(
            pm.hook.gallery_fingerprint(source=source, config=config), "gallery_fingerprint"
        )
        metadata = required(
            pm.hook.gallery_read_metadata(source=source, config=config), "gallery_read_metadata"
        )
        if not metadata.format:  # what the original's extension must say: from its content
            metadata = dataclasses.replace(metadata, format=sniff(source.path))
        if metadata.has_gps is None:  # a plugin's answer that does not say: look, once
            finding = gps.check_file(source.path)
            metadata = dataclasses.replace(
                metadata, has_gps=finding is not None, gps_note=finding and finding.reason
            )
    except BadPicture as exc:
        return dataclasses.replace(record, kind=record.kind, error=str(exc))
    except OSError as exc:
        return dataclasses.replace(record, error=f"{CANNOT_READ}: {exc.strerror or exc}")
    return dataclasses.replace(record, kind=kind, md5=md5, metadata_json=metadata_json(metadata))


def sniff(path: str) -> str:
    with open(path, "rb") as f:
        return metaformats.sniff(f.read(16))


def make_pictures(found: list[Found], candidates: list[Source]) -> list[Picture]:
    """Slug albums and pictures: unique among siblings (all ``candidates``), each made from
    its own name so that it stays put when siblings come and go (see slugs.unique_slugs)."""
    album_paths = slugs.album_paths({s.album_relpath for s in candidates})
    names_in: dict[str, list[str]] = {}
    for s in candidates:
        names_in.setdefault(s.album_relpath, []).append(s.filename)
    pictures = []
    by_folder: dict[str, list[Found]] = {}
    for f in found:
        by_folder.setdefault(f.source.album_relpath, []).append(f)
    for folder, items in sorted(by_folder.items()):
        names = slugs.unique_slugs(
            names_in[folder], "picture", text=lambda n: os.path.splitext(n)[0]
        )
        for f in items:
            pictures.append(
                Picture(
                    source=f.source,
                    md5=f.md5,
                    metadata=f.metadata,
                    slug=names[f.source.filename],
                    album_path=album_paths[folder],
                )
            )
    return pictures
