"""A real ``gallery build`` process killed (SIGKILL) in the middle of a build: none of its
processes outlives it, and the next build gives exactly the folder a clean build gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pictures
import pytest
from conftest import TIMEOUT, gallery

from gallery_builder.testing import build_gallery

#: a template that takes for ever on the page of an album whose first picture is captioned
#: SLOW: the build is then killed while it renders pages, after it wrote the earlier ones
SLOW_ALBUM = (
    '{% if album and album.pictures and album.pictures[0].metadata.caption == "SLOW" %}'
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    '{% endif %}{% extends "default:album.html" %}'
)


def session_processes(sid: int) -> dict[int, str]:
    """The live (not zombie) processes of session ``sid``: PID -> command line."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue  # ended meanwhile
        fields = stat.rpartition(")")[2].split()  # after "pid (comm)": state, ppid, pgrp, sid
        if int(fields[3]) == sid and fields[0] != "Z":
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def start_build(source: Path, out: Path, *args: str | Path) -> subprocess.Popen:
    """``gallery build`` in a session of its own, so that every process it starts is found."""
    return subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "build", source, "-o", out, *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip


def wait_for(process: subprocess.Popen, ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        if ready():
            return
        if process.poll() is not None:
            pytest.fail(f"the build ended (exit {process.returncode}) before {what}")
        time.sleep(0.02)
    pytest.fail(f"never saw {what}")


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(TIMEOUT)


def folder_contents(out: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) of a site, the build state left out."""
    return {
        p.relative_to(out).as_posix(): (p.read_bytes() if p.is_file() else None)
        for p in sorted(out.rglob("*"))
        if ".gallery" not in p.relative_to(out).parts
    }


def big_pictures(folder: Path, count: int) -> None:
    for i in range(count):
        pictures.jpeg(folder / f"p{i}.jpg", (2000, 1500), taken=f"2024:02:0{i + 1} 10:00:00")


def test_a_killed_build_leaves_no_process_running(source: Path, out: Path) -> None:
    big_pictures(source, 6)
    process = start_build(source, out, "-j", "2")
    try:
        # in the middle of the images: the workers are up and one has finished a picture
        wait_for(
            process,
            lambda: len(session_processes(process.pid)) >= 3 and any(out.rglob("*.jpg")),
            "the workers making the images",
        )
        tree = session_processes(process.pid)
    finally:
        kill(process)
    deadline = time.monotonic() + 5
    while (left := session_processes(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the build was killed: {left} (of {tree})"


def caption(picture: Path, text: str) -> None:
    picture.with_suffix(".txt").write_text(text)


@pytest.fixture
def theme(tmp_path: Path) -> Path:
    folder = tmp_path / "theme"
    (folder / "templates").mkdir(parents=True)
    (folder / "templates" / "album.html").write_text(SLOW_ALBUM)
    return folder


def first_version(source: Path) -> None:
    pictures.jpeg(source / "Alps" / "a.jpg", (300, 200), taken="2024:01:01 10:00:00")
    caption(source / "Alps" / "a.jpg", "one")
    pictures.jpeg(source / "Zoo" / "z.jpg", (300, 200), taken="2024:01:02 10:00:00")


@pytest.mark.parametrize("stage", ["images", "pages"])
def test_a_killed_build_then_rebuilt_equals_a_clean_build(
    source: Path, out: Path, tmp_path: Path, theme: Path, stage: str
) -> None:
    first_version(source)
    build_gallery(source, out, theme=str(theme))
    # the killed build: a new album of big pictures, a caption changed, a page that hangs
    big_pictures(source / "New", 4)
    caption(source / "Alps" / "a.jpg", "two")
    caption(source / "Zoo" / "z.jpg", "SLOW")
    process = start_build(source, out, "-j", "2", "--theme", theme)
    try:
        if stage == "images":
            wait_for(process, lambda: any((out / "new").glob("*.jpg")), "the first image")
        else:
            page = out / "alps" / "index.html"
            wait_for(process, lambda: b"two" in page.read_bytes(), "the new page of Alps")
            time.sleep(0.2)  # well inside the hanging page
    finally:
        kill(process)
    # then the source goes back to the first version, and is built again
    for picture in (source / "New").iterdir():
        picture.unlink()
    (source / "New").rmdir()
    caption(source / "Alps" / "a.jpg", "one")
    (source / "Zoo" / "z.txt").unlink()
    again = gallery("build", source, "-o", out, "--theme", theme)
    assert again.returncode == 0, again.stderr
    clean = tmp_path / "clean"
    build_gallery(source, clean, theme=str(theme))
    assert folder_contents(out) == folder_contents(clean)
    # the build state too: nothing of the killed build is left there
    assert sorted(p.name for p in (out / ".gallery").iterdir()) == [
        "lock",
        "settings.json",
        "state.sqlite",
        "theme.json",
    ]
    state = (out / ".gallery" / "state.sqlite").read_bytes()
    assert state == (clean / ".gallery" / "state.sqlite").read_bytes()


@pytest.mark.parametrize("delay", [0.01, 0.03, 0.06])
def test_a_build_killed_while_saving_its_state_keeps_a_whole_state(
    source: Path, out: Path, delay: float
) -> None:
    pictures.jpeg(source / "a.jpg", (300, 200))
    pictures.jpeg(source / "Trip" / "b.jpg", (300, 200))
    # files that are not pictures: each is a row of the state, so that saving it takes long
    # enough to be seen (the state is saved faster than it was: 8,000 rows were sometimes not)
    for i in range(30000):
        (source / "notes" / f"{i // 1000}").mkdir(parents=True, exist_ok=True)
        (source / "notes" / f"{i // 1000}" / f"{i}.dat").touch()
    build_gallery(source, out)
    caption(source / "a.jpg", "a new caption")  # a page changes, no image
    state = out / ".gallery"
    saving = (state / "state.sqlite-journal", state / ".state.sqlite.new")
    process = start_build(source, out, "-j", "1")
    try:
        deadline = time.monotonic() + TIMEOUT
        while not any(os.path.exists(p) for p in saving):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the build ended before it was seen saving its state")
        time.sleep(delay)  # at several moments of the save
    finally:
        kill(process)
    again = build_gallery(source, out)
    assert again.made == 0  # the state survived: every image is known and reused


def test_image_workers_import_only_the_core() -> None:
    """A worker imports its initializer by name. Run from a checkout of the project (the
    README's main-job command, a non-editable install), a worker finds ``gallery_builder`` in
    the current folder, where the plugins are not a sub-package: an initializer in a plugin
    killed every worker ("No module named 'gallery_builder.plugins'")."""
    from gallery_builder.plugins.executor import gallery_executor

    from gallery_builder.config import load_config

    config = load_config(Path(__file__).parent.parent / "examples" / "photos")
    pool = gallery_executor(config=config, jobs=2)
    try:
        initializer = pool._initializer  # type: ignore[attr-defined]
        assert initializer.__module__.startswith("gallery_builder.")
        assert not initializer.__module__.startswith("gallery_builder.plugins")
    finally:
        pool.shutdown()
