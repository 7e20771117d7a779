"""Image processor workers for the tests of the ``gallery_image_processors`` hook: a module the
image workers import by name (``"processor_functions:recording_pillow"``), as they would a
plugin's."""

from __future__ import annotations

from gallery_builder import imaging
from gallery_builder.model import ImageJob, ImageResult

#: the jobs this process's workers were given (the tests build with -j 1: in this process)
JOBS: list[ImageJob] = []


def recording_pillow(job: ImageJob) -> ImageResult:
    """Pillow's worker, remembering each job it is given."""
    JOBS.append(job)
    return imaging.process_image(job)


NOT_A_FUNCTION = 42
