"""``[build]`` in gallery.toml: where the image work of a build runs.

``executor`` chooses the executor: ``"local"``, the built-in process pool on this machine
(plugins/executor.py), or ``"dask"``, a ``distributed`` cluster (plugins/dask_executor.py,
docs/clusters.md). ``scheduler`` is the cluster's address; empty, a cluster of worker
processes on this machine is started for the build. Pure: the validators raise
``ValueError`` saying what is allowed (config.py adds the file and line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

EXECUTORS = ("local", "dask")
#: a scheduler address as ``distributed`` takes it: tcp:// or tls://, a host, a port
_ADDRESS = re.compile(r"^(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$")


@dataclass(frozen=True)
class BuildSettings:
    """The validated ``[build]`` table. How the images are made, not what they are: not part
    of the build's fingerprint (see :class:`gallery_builder.config.Config`)."""

    executor: str = "local"
    #: "" means a local cluster of worker processes started for the build
    scheduler: str = ""


def executor_name(value: Any) -> str:
    if value not in EXECUTORS:
        raise ValueError(" or ".join(f'"{name}"' for name in EXECUTORS))
    return value


def scheduler_address(value: Any) -> str:
    allowed = (
        'a scheduler address such as "tcp://scheduler.lan:8786" (tcp:// or tls://, a host '
        'and a port), or "" for a cluster of worker processes on this machine'
    )
    if value == "":
        return value
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ValueError(allowed)
    if not 0 < int(value.rsplit(":", 1)[1]) < 65536:
        raise ValueError(allowed)
    return value


BUILD_SCHEMA = {"executor": executor_name, "scheduler": scheduler_address}
