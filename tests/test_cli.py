"""The `gallery` command: help, version, exit codes, output."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pictures
from conftest import gallery, read_manifest

from gallery_builder import __version__
from gallery_builder.testing import run_cli


def test_help_lists_the_commands() -> None:
    result = run_cli(["--help"])
    assert result.exit_code == 0
    for command in ("build", "init", "plugins", "themes"):
        assert command in result.output


def test_version() -> None:
    assert run_cli(["--version"]).output.strip() == f"gallery, version {__version__}"


def test_usage_errors_exit_2(source: Path, tmp_path: Path) -> None:
    assert run_cli(["build"]).exit_code == 2
    assert run_cli(["build", tmp_path / "missing"]).exit_code == 2
    assert run_cli(["build", source, "--no-such-flag"]).exit_code == 2
    assert run_cli(["build", source, "-j", "0"]).exit_code == 2
    assert run_cli(["nonsense"]).exit_code == 2


def test_build_prints_progress_lines_and_a_summary_off_a_terminal(source: Path, out: Path):
    for name in "abc":
        pictures.jpeg(source / f"{name}.jpg")
    pictures.fake(source / "broken.jpg")
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code == 0
    assert "making images of 3 pictures" in result.stderr
    assert "  3/3 (" in result.stderr and "pictures/s)" in result.stderr
    assert "skipped broken.jpg: not a picture (unknown content)" in result.stderr
    assert "3 pictures in 1 albums: 3 built, 0 reused, 1 skipped" in result.stdout
    assert f"site: {out}" in result.stdout


def test_quiet_prints_only_warnings(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    pictures.empty(source / "b.jpg")
    result = run_cli(["build", source, "-o", out, "-q"])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == "skipped b.jpg: empty file\n"


def test_the_console_script_builds_and_fails_cleanly(source: Path, tmp_path: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    ok = gallery("build", source, cwd=tmp_path)  # -o defaults to ./_site
    assert ok.returncode == 0, ok.stderr
    assert read_manifest(tmp_path / "_site")["images"][0]["source"] == "a.jpg"
    (source / "gallery.toml").write_text("[images]\nquality = 101\n")
    bad = gallery("build", source, cwd=tmp_path)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert f"{source / 'gallery.toml'}:2: [images] quality = 101 is not allowed" in bad.stderr


def test_strict_fails_without_updating_the_site(source: Path, out: Path) -> None:
    pictures.jpeg(source / "a.jpg")
    assert run_cli(["build", source, "-o", out]).exit_code == 0
    pictures.truncated_jpeg(source / "b.jpg")
    result = run_cli(["build", source, "-o", out, "--strict"])
    assert result.exit_code == 1
    assert "skipped b.jpg: corrupt or truncated" in result.stderr
    assert "--strict" in result.stderr and "Traceback" not in result.output
    assert [i["source"] for i in read_manifest(out)["images"]] == ["a.jpg"]


def test_init_writes_a_commented_settings_file(source: Path) -> None:
    result = run_cli(["init", source])
    assert result.exit_code == 0
    text = (source / "gallery.toml").read_text()
    assert text.count("#") > 10 and 'name = "photos"' in text
    again = run_cli(["init", source])
    assert again.exit_code == 1 and "--force" in again.output
    assert run_cli(["init", source, "--force"]).exit_code == 0


def test_a_terminal_gets_a_progress_bar(source: Path, tmp_path: Path) -> None:
    import os
    import pty

    for name in "abcd":
        pictures.jpeg(source / f"{name}.jpg")
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gallery_builder", "build", str(source), "-o", str(tmp_path / "o")],
        stdin=follower, stdout=subprocess.PIPE, stderr=follower, env=env,
    )  # fmt: skip
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the pty closes when the process exits
            break
        if not chunk:
            break
        screen += chunk
    stdout = process.communicate(timeout=120)[0].decode()
    os.close(leader)
    assert process.returncode == 0
    text = screen.decode("utf-8", "replace")
    assert "images" in text and "━" in text  # rich's bar, drawn with escape codes
    assert "pictures/s" in text and "ETA" in text
    assert "\x1b[" in text
    assert "making images of" not in text  # the plain lines are for logs only
    assert "4 pictures in 1 albums" in stdout


def test_bad_values_are_shown_as_toml(source: Path, out: Path) -> None:
    (source / "gallery.toml").write_text(
        '[images]\nquality = { gif = 3 }\n[gallery]\nlang = ["en"]\n'
    )
    result = run_cli(["build", source, "-o", out])
    assert result.exit_code == 2
    assert "gallery.toml:2: [images] quality = {gif = 3} is not allowed" in result.stderr


def test_the_cli_imports_no_publishing_verifying_or_encryption_machinery() -> None:
    # every command starts with ``import gallery_builder.cli``: a build needs none of these
    code = (
        "import sys, gallery_builder.cli\n"
        "heavy = {'gallery_builder.publishing', 'gallery_builder.verify_http', 'http.client',\n"
        "         'gallery_builder.cli_publish', 'gallery_builder.encryption', 'cryptography'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.strip() == "[]"
