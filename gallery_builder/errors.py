"""Expected failures: each carries a message a user can act on, and is shown without a
traceback."""

from __future__ import annotations


class GalleryError(Exception):
    """A failure the user can fix; the CLI prints the message and exits 1."""


class BadPicture(Exception):
    """A picture that cannot be used; the build skips it and names it with this reason."""


class ThemeError(GalleryError):
    """A theme is missing, malformed, or its templates fail to render."""
