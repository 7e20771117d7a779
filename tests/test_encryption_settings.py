"""The encrypted gallery's settings: where a password may come from (a file, the environment,
never gallery.toml), ``[gallery] encrypt`` and ``--no-encryption``; each refusal one line,
exit 2, before anything is built."""

from __future__ import annotations

from pathlib import Path

import pictures
import pytest

from gallery_builder.testing import run_cli

SECRET = "s3cr3t-in-the-toml"


@pytest.fixture
def photos(source: Path) -> Path:
    pictures.jpeg(source / "a.jpg")
    return source


@pytest.fixture(autouse=True)
def _no_password_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GALLERY_PASSWORD", raising=False)


def refused(args: list, code: int = 2) -> str:
    result = run_cli(args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize(
    "toml, line",
    [
        (f'password = "{SECRET}"\n', 1),
        (f'[gallery]\ntitle = "T"\npassword = "{SECRET}"\n', 3),
        (f'[publish]\ntarget = "file:///tmp/x"\n\npassword = "{SECRET}"\n', 4),
        ('[gallery]\npassword = ["' + SECRET + '"]\n', 2),  # whatever its type
    ],
)
def test_a_password_in_gallery_toml_is_refused_with_its_file_and_line(
    photos: Path, out: Path, toml: str, line: int
) -> None:
    settings = photos / "gallery.toml"
    settings.write_text(toml, encoding="utf-8")
    message = refused(["build", photos, "-o", out])
    assert f"{settings}:{line}: " in message
    assert "a password is never read from gallery.toml" in message
    assert "--password-file or GALLERY_PASSWORD" in message
    assert SECRET not in message
    assert not out.exists()


def test_encrypt_true_without_a_password_is_refused(photos: Path, out: Path) -> None:
    settings = photos / "gallery.toml"
    settings.write_text('[gallery]\ntitle = "T"\nencrypt = true\n', encoding="utf-8")
    message = refused(["build", photos, "-o", out])
    assert f"{settings}:3: [gallery] encrypt = true" in message
    assert "--password-file FILE or GALLERY_PASSWORD" in message
    assert not out.exists()


def test_encrypt_true_with_a_password_builds(
    photos: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (photos / "gallery.toml").write_text("[gallery]\nencrypt = true\n", encoding="utf-8")
    monkeypatch.setenv("GALLERY_PASSWORD", "pw")
    result = run_cli(["build", photos, "-o", out])
    assert result.exit_code == 0, result.output
    assert (out / "_lock.json").is_file()


def test_encrypt_must_be_true_or_false(photos: Path, out: Path) -> None:
    settings = photos / "gallery.toml"
    settings.write_text('[gallery]\nencrypt = "yes"\n', encoding="utf-8")
    message = refused(["build", photos, "-o", out])
    assert f"{settings}:2: " in message and "true or false" in message


@pytest.mark.parametrize(
    "content, problem",
    [
        (b"", "empty first line"),
        (b"\nthe password on line two\n", "empty first line"),
        (b"\r\n", "empty first line"),
        (b"\xff\xfe not utf-8", "not UTF-8 text"),
    ],
)
def test_a_bad_password_file_is_refused(
    photos: Path, out: Path, tmp_path: Path, content: bytes, problem: str
) -> None:
    password_file = tmp_path / "pw"
    password_file.write_bytes(content)
    message = refused(["build", photos, "-o", out, "--password-file", password_file])
    assert str(password_file) in message and problem in message
    assert not out.exists()


def test_a_missing_password_file_is_refused(photos: Path, out: Path, tmp_path: Path) -> None:
    message = refused(["build", photos, "-o", out, "--password-file", tmp_path / "nope"])
    assert "cannot read the password file" in message and "nope" in message


def test_only_the_first_line_of_the_password_file_counts(
    photos: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    (tmp_path / "a").write_bytes(b"same words\r\nanything else\n")
    monkeypatch.setenv("GALLERY_PASSWORD", "same words")
    assert run_cli(["build", photos, "-o", one, "--password-file", tmp_path / "a"]).exit_code == 0
    salt = (one / "_lock.json").read_bytes()
    from test_encrypted_build import opened

    assert opened(one, "same words")
    assert run_cli(["build", photos, "-o", two]).exit_code == 0
    assert opened(two, "same words") and salt != (two / "_lock.json").read_bytes()


def test_an_empty_gallery_password_is_refused(
    photos: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALLERY_PASSWORD", "")
    message = refused(["build", photos, "-o", out])
    assert "GALLERY_PASSWORD is set but empty" in message


def test_no_encryption_and_a_password_together_are_refused(
    photos: Path, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GALLERY_PASSWORD", "pw")
    message = refused(["build", photos, "-o", out, "--no-encryption"])
    assert "--no-encryption and a password" in message
    assert not out.exists()


def test_the_password_file_wins_over_the_environment(
    photos: Path, out: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw").write_text("from the file\n", encoding="utf-8")
    monkeypatch.setenv("GALLERY_PASSWORD", "from the environment")
    result = run_cli(["build", photos, "-o", out, "--password-file", tmp_path / "pw"])
    assert result.exit_code == 0, result.output
    from test_encrypted_build import opened

    assert opened(out, "from the file")
