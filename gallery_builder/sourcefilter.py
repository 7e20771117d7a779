"""Which scanned sources may become part of the site, beyond what the scan decides: how deep
below SOURCE an album may be, media that cannot be published yet, and which files count as
candidate pictures when slugs are given."""

from __future__ import annotations

from gallery_builder import unsupported
from gallery_builder.model import Source
from gallery_builder.state import SourceRecord

#: how many folders deep below SOURCE an album may be: a deeper one is skipped and named (its
#: pages' breadcrumbs, URLs and the manifest's nested albums grow with the depth)
MAX_DEPTH = 50
TOO_DEEP = (
    f"more than {MAX_DEPTH} folders deep, it and what it holds are left out; "
    "move it higher up in the source"
)


def within_depth(sources: list[Source]) -> tuple[list[Source], list[str]]:
    """The sources at most :data:`MAX_DEPTH` folders below SOURCE, and the folders one level
    deeper than that which hold the others (each is named once, with what is below it)."""
    kept, too_deep = [], set()
    for s in sources:
        parts = s.relpath.split("/")
        if len(parts) - 1 > MAX_DEPTH:
            too_deep.add("/".join(parts[: MAX_DEPTH + 1]))
        else:
            kept.append(s)
    return kept, sorted(too_deep)


def is_candidate(record: SourceRecord) -> bool:
    """Whether a source counts among its siblings when they are slugged: a picture, usable or
    not; not media that is not supported yet (the JPEG beside a HEIC keeps its slug)."""
    return bool(record.kind or (record.error and not unsupported.is_unsupported(record.error)))


def unsupported_media_of(source: Source) -> str | None:
    """What media ``source`` is, when it is media that cannot be published yet (its first
    bytes are read)."""
    with open(source.path, "rb") as f:
        head = f.read(unsupported.HEAD_SIZE)
    return unsupported.unsupported_media(source.relpath, head)
