"""``gallery publish``'s settings: the target and the options its publisher declares
(gallery_builder/publisher_options.py), each from the command line, else from the publisher's
``[plugins.NAME]`` table, else from the site's ``[publish]`` table (both read again from the
settings file its build recorded: site_settings.py), and what the publisher factory is given.
Pure but for :func:`resolve`, which reads that file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from gallery_builder.errors import SettingError
from gallery_builder.plugin_settings import plugin_settings_schemas
from gallery_builder.publish_settings import PublishSettings, same_place, split_target
from gallery_builder.publisher_options import (
    InstalledPublisher,
    factory_options,
    option_values,
)
from gallery_builder.site_settings import site_settings
from gallery_builder.toml_text import line_of


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    origin: str  #: "TARGET", "--region", "photos/gallery.toml:4"


@dataclass
class PublishSetup:
    """Where and how this publish goes."""

    target: str
    settings: list[Setting] = field(default_factory=list)
    #: the keyword arguments for the publisher factory (the options it declares)
    options: dict[str, Any] = field(default_factory=dict)
    #: the [publish] settings read, and the file they came from
    publish: PublishSettings = field(default_factory=PublishSettings)
    file: Path | None = None
    #: [publish] keys not applied to this TARGET (another bucket than [publish] target's)
    ignored: list[str] = field(default_factory=list)

    def origin(self, name: str) -> str | None:
        return next((s.origin for s in self.settings if s.name == name), None)

    def lines(self) -> list[str]:
        """Each setting in effect and where it came from, for --dry-run."""
        out = [f"using {s.name} {_shown(s.value)} ({s.origin})" for s in self.settings]
        if self.ignored:
            out.append(self.ignored_note())
        return out

    def ignored_note(self) -> str:
        keys = ", ".join(f"[publish] {k}" for k in self.ignored)
        return (
            f"not using {keys} ({self.file}): they are for {self.publish.target}, and this "
            f"publish goes to {self.target}; give "
            + "/".join("--" + k.replace("_", "-") for k in self.ignored)
            + " to use them here"
        )


def _shown(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def resolve(
    site: Path,
    target: str | None,
    pm: Any,
    command: str = "publish",
    values: Mapping[str, Any] | None = None,
    given: Collection[str] = (),
) -> PublishSetup:
    """TARGET and the options its publisher declares for ``command`` (``values`` as click
    parsed them, of which ``given`` were on the command line) over the publisher's
    ``[plugins.NAME]`` settings and the site's ``[publish]`` settings. Raises SettingError
    (usage) when neither names a target or an option does not fit the target, ConfigError
    when the settings file is now wrong (its ``[plugins.NAME]`` tables are checked against
    the plugins' declarations, as the build checked them)."""
    found = site_settings(site, plugin_settings_schemas(pm))
    config = found.config
    publish = config.publish if config is not None else PublishSettings()
    file = config.file if config is not None else None

    def where(key: str) -> str:
        line = publish.line(key)
        return f"{file}:{line}" if line else str(file)

    if target is None and publish.target is None:
        why = f" ({found.missing})" if found.missing else ""
        raise SettingError(
            "no TARGET given, and the site's settings set no [publish] target"
            f"{why}: give one (gallery publish s3://bucket/prefix), or set [publish] target "
            "in gallery.toml and build again"
        )
    setup = PublishSetup(target or publish.target or "", publish=publish, file=file)
    setup.settings.append(Setting("target", setup.target, "TARGET" if target else where("target")))
    # the CDN belongs to the bucket [publish] target names: not to a TARGET elsewhere
    here = publish.target is None or same_place(setup.target, publish.target)

    def from_plugin_settings(publisher: InstalledPublisher, name: str) -> tuple[Any, str] | None:
        """``[plugins.NAME] <name>`` of the publisher's plugin, when its settings declare the
        key and the settings file sets it (Config.plugins holds the declared keys, checked,
        defaults filled in: a default is not a setting, the option's own order goes on)."""
        table = config.plugins.get(publisher.plugin) if config is not None else None
        if not table or name not in table or file is None:
            return None
        line = line_of(file.read_text(encoding="utf-8"), "plugins", publisher.plugin, name)
        return (table[name], f"{file}:{line}") if line else None

    def from_publish(publisher: InstalledPublisher, name: str) -> tuple[Any, str] | None:
        """The ``[publish]`` key of the option's name, for the options that fall back to it."""
        how = publisher.publish_key(name)
        value = getattr(publish, name, None) if how is not None else None
        if value is None:
            return None
        if how == "place" and not here:
            setup.ignored.append(name)
            return None
        return value, where(name)

    chosen = option_values(
        pm, setup.target, command, values or {}, given, (from_plugin_settings, from_publish)
    )
    setup.options = factory_options(chosen)
    setup.settings += [Setting(v.name, v.value, v.origin) for v in chosen if v.origin]
    return setup


def placement_warning(built_for: Any, prefix: str, setup: PublishSetup, dest: bool) -> str | None:
    """The warning when the site was built to be served elsewhere than where it goes (its
    error.html links from where it was built for, the manifest's ``base_path``), saying which
    setting to change. ``dest``: the prefix came from ``-d``."""
    if not isinstance(built_for, str):
        return None
    published_at = f"/{prefix}/" if prefix else "/"
    built = unquote(built_for)
    if built == published_at:
        return None
    head = (
        f"the site was built to be served at {built} but goes to {published_at}: its pages "
        f"work anywhere, but error.html links from {built}; "
    )
    origin = setup.origin("target") or ""
    if origin != "TARGET" and not dest:
        return head + (f"[publish] target ({origin}) changed since the build: build the site again")
    parts = split_target(setup.target)
    base_url = f'[gallery] base_url = "{quote(published_at)}"'
    if parts.scheme == "s3" and prefix:
        return head + (
            f'set [publish] target = "s3://{parts.bucket}/{prefix}" in gallery.toml (or '
            f"{base_url}) and build again"
        )
    return head + f"set {base_url} and build again"
