"""What a build did (:class:`BuildResult`), and the failure of a ``--strict`` build.

Apart from the pipeline so that its stages (derivatives.py, keylength.py, …) can fill a result
in without importing the pipeline that calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gallery_builder.errors import GalleryError


class StrictFailure(GalleryError):
    """``--strict`` and a picture was skipped."""


@dataclass
class BuildResult:
    """What a build did, for the summary and for tests."""

    out_dir: Path
    pictures: int = 0
    albums: int = 0
    made: int = 0  #: pictures whose images were made this build
    reused: int = 0  #: pictures whose images were all reused
    skipped: list[tuple[str, str]] = field(default_factory=list)  #: (relpath, reason)
    #: pictures whose original is not published (a GPS position or doubt under
    #: ``strip_gps``, an extension that does not say its content, an unsafe name)
    originals_withheld: list[str] = field(default_factory=list)
    #: the warning that says why, for each of them
    withheld_warnings: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  #: files written, relative to out_dir
    removed: list[str] = field(default_factory=list)  #: stale files removed
    seconds: float = 0.0
    encrypted: bool = False  #: the published site is the encrypted one
    sealed: int = 0  #: files encrypted by this build (an unchanged one keeps its ciphertext)

    def summary(self) -> str:
        line = (
            f"{self.pictures} pictures in {self.albums} albums: {self.made} built, "
            f"{self.reused} reused, {len(self.skipped)} skipped; "
            f"{len(self.written)} files written, {len(self.removed)} removed "
            f"in {self.seconds:.2f} s"
        )
        if self.encrypted:
            line += f"; encrypted ({self.sealed} files sealed)"
        return line
