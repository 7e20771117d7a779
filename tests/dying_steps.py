"""Image step functions that end the worker process running them, for the tests of the dask
executor (tests/test_dask_executor.py): a module the workers import by name, as they would a
plugin's (``"dying_steps:exit_once"``)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from PIL import Image

from gallery_builder.model import DerivativeSpec


def exit_once(image: Image.Image, spec: DerivativeSpec, *, marker: str) -> Image.Image:
    """End this process, as the out-of-memory killer would, the first time a picture's images
    are made (``marker`` does not exist yet: it is created); return the image unchanged on
    any later try."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return image
    os._exit(70)


def exit_always(image: Image.Image, spec: DerivativeSpec, *, marker: str) -> Image.Image:
    """End this process every time; count the tries as lines of ``marker``."""
    with Path(marker).open("a") as tries:
        tries.write("died\n")
    os._exit(70)


def kill_scheduler(image: Image.Image, spec: DerivativeSpec, *, pid: int) -> Image.Image:
    """End the scheduler process ``pid`` while this picture is being made, and never finish."""
    os.kill(pid, signal.SIGKILL)
    time.sleep(600)
    return image
