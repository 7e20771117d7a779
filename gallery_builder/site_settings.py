"""Where a built site's settings are: the build records its source folder and settings file in
``OUT/.gallery/settings.json`` (never published: nothing under ``.gallery/`` is a site file),
and ``gallery publish`` reads that file again, so that ``gallery build PHOTOS && gallery
publish`` needs no arguments and a setting edited since the build applies. An encrypted
gallery's record is its clear copy's (outside OUT: the source folder's path may say what the
gallery holds), found from OUT's path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gallery_builder.config import Config, ConfigError, load_config
from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.filesafety import write_atomic
from gallery_builder.publish_settings import split_target
from gallery_builder.state import STATE_DIR
from gallery_builder.toml_text import toml_value

RECORD_NAME = "settings.json"


def record_settings(out_dir: Path, config: Config) -> None:
    """Write where ``config`` came from into ``out_dir/.gallery/`` (only if it changed: a
    no-op build of a read-only output folder writes nothing)."""
    record = {
        "source": str(config.source.resolve()),
        "settings_file": str(config.file.resolve()) if config.file else None,
    }
    data = (json.dumps(record, indent=2) + "\n").encode()
    path = out_dir / STATE_DIR / RECORD_NAME
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    write_atomic(path, data)


def forget_settings(out_dir: Path) -> None:
    """Remove OUT's own record (an encrypted build keeps it in its clear copy instead)."""
    try:
        (out_dir / STATE_DIR / RECORD_NAME).unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise GalleryError(
            f"cannot remove {out_dir / STATE_DIR / RECORD_NAME}: {exc.strerror or exc}"
        ) from None


def _record_path(site: Path) -> Path:
    """OUT's record, else its clear copy's (an encrypted site)."""
    from gallery_builder.encryption_state import clear_site_dir

    path = site / STATE_DIR / RECORD_NAME
    if path.exists():
        return path
    clear = clear_site_dir(site) / STATE_DIR / RECORD_NAME
    return clear if clear.exists() else path


@dataclass(frozen=True)
class SiteSettings:
    """The settings a built site was made with, read again now."""

    config: Config | None
    #: why there are none, for messages ("" when there are)
    missing: str = ""


def site_settings(site: Path, settings: Mapping[str, Any] | None = None) -> SiteSettings:
    """The settings of the site in ``site``, from the file its build recorded. A settings file
    that is gone counts as none (a TARGET on the command line still publishes); one that is
    there but wrong raises :class:`ConfigError`. ``settings``: what the plugins declare
    (``plugin_settings_schemas(pm)``), so that ``config.plugins`` is read as the build read it."""
    path = _record_path(site)
    try:
        record: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SiteSettings(None, f"{site} holds no record of its settings (build it again)")
    except (OSError, ValueError) as exc:
        raise GalleryError(f"cannot read {path} ({exc}); build the site again") from None
    record = record if isinstance(record, dict) else {}
    source, file = record.get("source"), record.get("settings_file")
    if not isinstance(source, str) or not isinstance(file, str | None):
        raise GalleryError(f"{path} is not a settings record of gallery build; build again")
    if file is not None and not Path(file).is_file():
        return SiteSettings(None, f"its settings file {file} is gone")
    config = load_config(Path(source), Path(file) if file else None, settings=settings)
    if config.file is None:
        return SiteSettings(config, f"it has no settings file ({Path(source) / 'gallery.toml'})")
    return SiteSettings(config)


def check_publisher(config: Config, pm: Any) -> None:
    """Refuse a ``[publish] target`` whose scheme no loaded plugin publishes to (exit 2)."""
    from gallery_builder.publishing import publisher_factories

    target = config.publish.target
    if not target:
        return
    scheme = split_target(target).scheme
    factories = publisher_factories(pm)
    if scheme not in factories:
        installed = ", ".join(f"{s}://" for s in sorted(factories)) or "none"
        problem = (
            f"no installed plugin publishes to '{scheme}://' (installed: {installed}): "
            "install the plugin that does, or choose another target"
        )
    else:
        try:  # the publisher's own checks, those `gallery publish` makes before any request
            getattr(factories[scheme], "check_target", lambda target: None)(target)
            return
        except SettingError as exc:
            problem = str(exc)
    error = ConfigError(
        f"[publish] target = {toml_value(target)} is not allowed; {problem}",
        file=config.file,
        line=config.publish.line("target"),
    )
    raise SettingError(str(error))
