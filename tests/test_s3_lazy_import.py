"""The S3 plugin (plugins/s3/) imports boto3 and botocore only when a publisher is made:
every ``gallery`` command loads every installed plugin, and ``gallery --help`` or a build
must not pay for botocore (about a third of a second) nor need it. Each check runs in a fresh
interpreter, whose ``sys.modules`` nothing else in the test run has filled.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pictures import jpeg

AWS = ("boto3", "botocore")


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def loaded_after(code: str, cwd: Path) -> list[str]:
    """The AWS modules loaded once ``code`` has run (its last statement prints them)."""
    done = run_python(
        code + "\nprint(sorted(m for m in sys.modules if m.split('.')[0] in AWS))", cwd
    )
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])


PRELUDE = f"import sys\nAWS = {AWS!r}\n"


def test_importing_the_s3_plugin_imports_no_botocore(tmp_path: Path) -> None:
    code = PRELUDE + "import gallery_builder.plugins.s3, gallery_builder.plugins.s3.publisher"
    assert loaded_after(code, tmp_path) == []


def test_making_an_s3_publisher_imports_botocore(tmp_path: Path) -> None:
    # the other half: the check above would pass for a plugin that never imports boto3
    code = PRELUDE + (
        "from gallery_builder.plugins.s3 import s3_publisher\n"
        "s3_publisher('s3://some-bucket', region='eu-west-1')"
    )
    assert {"boto3", "botocore"} <= set(loaded_after(code, tmp_path))


def cli_run(args: list[str]) -> str:
    """A runner calling the ``gallery`` CLI in-process, exit status kept for the check."""
    return PRELUDE + textwrap.dedent(f"""
        from gallery_builder.cli import main
        try:
            main({args!r})
        except SystemExit as exc:
            assert not exc.code, exc.code
    """)


def test_gallery_help_imports_no_botocore(tmp_path: Path) -> None:
    assert loaded_after(cli_run(["--help"]), tmp_path) == []
    assert loaded_after(cli_run(["publish", "--help"]), tmp_path) == []


def test_gallery_build_imports_no_botocore(tmp_path: Path) -> None:
    source = tmp_path / "photos"
    jpeg(source / "a.jpg")
    # [publish] target makes the build check the S3 target (the factory's check_target)
    (source / "gallery.toml").write_text('[publish]\ntarget = "s3://some-bucket/trips"\n')
    args = ["build", str(source), "-o", str(tmp_path / "site")]
    assert loaded_after(cli_run(args), tmp_path) == []
    assert (tmp_path / "site" / "index.html").is_file()
