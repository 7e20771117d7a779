"""s3rver (npm, tests only: package.json) in a child process on 127.0.0.1: an S3-compatible
store that serves website semantics but accepts and ignores conditional writes (HOSTING.md
§4), the kind of store gallery-builder must refuse to publish to."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "node_modules" / ".bin" / "s3rver"
#: the credentials s3rver accepts by default
ACCESS_KEY = SECRET_KEY = "S3RVER"
INSTALL_HINT = "run `npm ci` at the project root (package.json lists s3rver)"
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


class S3rver:
    """``with S3rver(folder) as store:`` then ``store.endpoint``; its objects go in folder."""

    def __init__(self, folder: Path, *, start_timeout: float = 30.0) -> None:
        self.folder, self.start_timeout = folder, start_timeout
        self._proc: subprocess.Popen[str] | None = None
        self._port: int | None = None
        self._lines: list[str] = []
        self._seen = threading.Condition()

    def __enter__(self) -> S3rver:
        if not BINARY.exists():
            raise RuntimeError(f"s3rver is not installed ({BINARY}): {INSTALL_HINT}")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [str(BINARY), "-d", str(self.folder), "-a", "127.0.0.1", "-p", "0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace",
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        with self._seen:
            while self._port is None:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError("s3rver did not start:\n" + "\n".join(self._lines[-20:]))
                self._seen.wait(timeout=0.1)
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:  # drained to the end, so the server never blocks
            with self._seen:
                self._lines.append(line.rstrip())
                if self._port is None and (match := _LISTENING.search(line)):
                    self._port = int(match[1])
                self._seen.notify_all()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
