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


class PluginError(GalleryError):
    """A plugin failed: names the plugin, its distribution, the hook and what it was working
    on, so the user knows whom to blame and what to block."""

    def __init__(
        self,
        plugin: str,
        hook: str,
        cause: BaseException,
        *,
        distribution: str | None = None,
        subject: str | None = None,
    ) -> None:
        self.plugin = plugin
        self.hook = hook
        self.cause = cause
        self.distribution = distribution
        self.subject = subject
        self.__cause__ = cause
        origin = f" ({distribution})" if distribution else ""
        where = f" on {subject}" if subject else ""
        reason = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        super().__init__(
            f"plugin '{plugin}'{origin} failed in {hook}{where}: {reason}; run with -v for "
            f"the traceback, or block it with --block {plugin}"
        )
