"""``gallery publish``'s settings: each from the command line, else from the site's
``[publish]`` table (read again from the settings file its build recorded: site_settings.py),
and what the publisher factory is given. Pure but for :func:`resolve`, which reads that file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import click

from gallery_builder.errors import SettingError
from gallery_builder.publish_settings import CDN_CHOICES, PublishSettings, same_place, split_target
from gallery_builder.site_settings import site_settings

#: options given to the factory only when set (a factory without them keeps working)
CDN_KEYS = ("cdn", "domain", "wait", "purge", "private")


def cdn_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The publish command's CDN options: --cdn, --domain, --wait/--no-wait, --purge,
    --private/--no-private."""
    options = [
        click.option(
            "--cdn",
            type=click.Choice(CDN_CHOICES),
            help="Serve through CloudFront over HTTPS, or S3 website hosting only "
            "(default: [publish] cdn, else none).",
        ),
        click.option(
            "--domain",
            metavar="DOMAIN",
            help="Your own host name for the CloudFront distribution (default: [publish] domain).",
        ),
        click.option(
            "--wait/--no-wait",
            default=None,
            help="Wait for the CloudFront deployment, usually 5–15 minutes "
            "(default: [publish] wait, else no).",
        ),
        click.option(
            "--purge",
            is_flag=True,
            default=None,
            help="Invalidate deleted files at once instead of letting them expire unreferenced.",
        ),
        click.option(
            "--private/--no-private",
            default=None,
            help="Serve the gallery only to people with an invitation (gallery invite): "
            "CloudFront signed cookies; --no-private makes a private gallery public again "
            "(default: [publish] private, else as it is).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


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
    #: the keyword arguments for the publisher factory (besides endpoint_url)
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
            f"publish goes to {self.target}; give --cdn/--domain/--wait to use them here"
        )


def _shown(value: Any) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def resolve(
    site: Path, target: str | None, *, settings: Mapping[str, Any] | None = None, **given: Any
) -> PublishSetup:
    """TARGET and ``given`` (region, profile, cdn, domain, wait, purge, private: None when
    not on the command line) over the site's ``[publish]`` settings. Raises SettingError
    (usage) when neither names a target, ConfigError when the settings file is now wrong
    (``settings``: the plugins' declarations, to check their ``[plugins.NAME]`` tables too)."""
    found = site_settings(site, settings)
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
    for name in ("region", "profile", *CDN_KEYS):
        value = given.get(name)
        origin = f"--no-{name}" if name in ("wait", "private") and value is False else "--" + name
        if value is None and hasattr(publish, name):
            value, origin = getattr(publish, name), where(name)
            if value is not None and name in CDN_KEYS and not here:
                setup.ignored.append(name)
                continue
        if name in ("region", "profile"):
            setup.options[name] = value  # always given, as before
        elif value is not None:
            setup.options[name] = value
        if value is not None:
            setup.settings.append(Setting(name, value, origin))
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
