"""Where an encrypted gallery's password comes from, and whether a build may go without one.

A password is read from a file (``--password-file FILE``: its first line) or from the
environment (``GALLERY_PASSWORD``), never from gallery.toml, which people commit (config.py
refuses a ``password`` key there). It is never written or printed: the messages here name the
file or the variable, never what they hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from gallery_builder.config import Config, ConfigError
from gallery_builder.errors import SettingError
from gallery_builder.toml_text import line_of

PASSWORD_ENV = "GALLERY_PASSWORD"
HOW = f"--password-file FILE or {PASSWORD_ENV}"


def read_password(password_file: Path | None, environ: Mapping[str, str]) -> str | None:
    """The password a build was given (the file first, then the variable), or None."""
    if password_file is not None:
        try:
            data = password_file.read_bytes()
        except OSError as exc:
            raise SettingError(
                f"cannot read the password file {password_file}: {exc.strerror or exc}"
            ) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SettingError(f"the password file {password_file} is not UTF-8 text") from None
        password = text.split("\n", 1)[0].removesuffix("\r").removeprefix("\ufeff")
        if not password:
            raise SettingError(
                f"the password file {password_file} has an empty first line: write the "
                "password on its first line"
            )
        return password
    value = environ.get(PASSWORD_ENV)
    if value is None:
        return None
    if not value:
        raise SettingError(
            f"{PASSWORD_ENV} is set but empty: set it to the password, or unset it to build "
            "the gallery in the clear"
        )
    return value


def check_password_choice(config: Config, password: str | None, no_encryption: bool) -> None:
    """Refuse (a usage error) a build whose settings ask for what it was not given."""
    if password is not None and no_encryption:
        raise SettingError(
            f"--no-encryption and a password ({HOW}) were both given: leave out one "
            f"(unset {PASSWORD_ENV} to build the gallery in the clear)"
        )
    if password is None and config.gallery.encrypt:
        raise SettingError(str(_encrypt_error(config)))


def _encrypt_error(config: Config) -> ConfigError:
    line = None
    if config.file is not None:
        try:
            line = line_of(config.file.read_text(encoding="utf-8"), "gallery", "encrypt")
        except (OSError, UnicodeDecodeError):
            line = None
    return ConfigError(
        f"[gallery] encrypt = true, and this build was given no password: use {HOW} "
        "(to build the gallery in the clear, remove encrypt = true)",
        file=config.file,
        line=line,
    )


def refuse_clear_build(out_dir: Path) -> SettingError:
    """The error for a build without a password into an OUT whose last build was encrypted."""
    return SettingError(
        f"the last build of {out_dir} was encrypted, and this one was given no password: use "
        f"{HOW}, or --no-encryption to build it in the clear (then every page and picture "
        "becomes readable by anyone who gets the site)"
    )
