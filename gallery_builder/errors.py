"""Expected failures: each carries a message a user can act on, and is shown without a
traceback."""

from __future__ import annotations


class GalleryError(Exception):
    """A failure the user can fix; the CLI prints the message and exits 1."""


class BadPicture(Exception):
    """A picture that cannot be used; the build skips it and names it with this reason."""


class SettingError(GalleryError):
    """A flag or setting names something that does not exist; the CLI exits 2 (usage)."""


class ThemeError(GalleryError):
    """A theme is malformed, or its templates fail to render."""


class UnknownTheme(ThemeError, SettingError):
    """The theme a setting or flag names is not installed and is not a folder."""
