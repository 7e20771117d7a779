"""Expected failures: each carries a message a user can act on, and is shown without a
traceback."""

from __future__ import annotations


class GalleryError(Exception):
    """A failure the user can fix; the CLI prints the message and exits 1."""


class BadPicture(Exception):
    """A picture that cannot be used; the build skips it and names it with this reason."""


class SettingError(GalleryError):
    """A flag or setting names something that does not exist; the CLI exits 2 (usage)."""


class ProcessorUnavailable(GalleryError):
    """The chosen image processor cannot run here; the message says why and how to install
    what it needs ("pyvips is not installed; pip install 'gallery-builder[vips]'")."""


class ThemeError(GalleryError):
    """A theme is malformed, or its templates fail to render."""


class UnknownTheme(ThemeError, SettingError):
    """The theme a setting or flag names is not installed and is not a folder."""


class PluginError(GalleryError):
    """A third-party plugin's hook raised an exception it did not mean to (not a
    GalleryError): the message names the plugin, its distribution, the hook and what it was
    working on, so the user knows whose fault it is and how to go on without it.

    ``subject`` is a phrase such as ``"picture 'Sea/wave.jpg'"`` or ``"page 'index.html'"``.
    The ``cause`` is chained; :meth:`traceback_text` gives its traceback (for ``-v``), also
    after the error crossed a process boundary (pickled from an image worker).
    """

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
        self._traceback_text: str | None = None
        origin = f" ({distribution})" if distribution else ""
        on = f" on {subject}" if subject else ""
        what = f"{type(cause).__name__}: {cause}" if str(cause) else type(cause).__name__
        super().__init__(
            f"plugin '{plugin}'{origin} failed in {hook}{on}: {what}; run with -v for the "
            f"traceback, or block it with --block {plugin}"
        )
        self.__cause__ = cause

    def traceback_text(self) -> str:
        """The cause's traceback, as Python prints it."""
        if self._traceback_text is not None:
            return self._traceback_text
        import traceback

        return "".join(traceback.format_exception(self.cause))

    def __reduce__(self) -> tuple:
        # Exception pickling re-calls __init__ with self.args (the message): rebuild from
        # the parts instead, and keep the traceback as text (a traceback is not picklable)
        return (
            _rebuild_plugin_error,
            (self.plugin, self.hook, self.cause, self.distribution, self.subject,
             self.traceback_text()),
        )  # fmt: skip


def _rebuild_plugin_error(
    plugin: str,
    hook: str,
    cause: BaseException,
    distribution: str | None,
    subject: str | None,
    traceback_text: str,
) -> PluginError:
    error = PluginError(plugin, hook, cause, distribution=distribution, subject=subject)
    error._traceback_text = traceback_text
    return error
