"""Settings: ``gallery.toml`` (or ``--config``) read into a frozen, validated :class:`Config`.

Every key is declared once in :data:`SCHEMA`, with what it allows; an unknown key or a bad value
raises :class:`ConfigError` naming the file, the line, the key and what is allowed.
"""

from __future__ import annotations

import errno
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gallery_builder import encoder_settings
from gallery_builder.build_settings import BUILD_SCHEMA, BuildSettings
from gallery_builder.encoder_settings import OptionProblem
from gallery_builder.plugin_settings import FrozenMapping, Setting
from gallery_builder.plugin_tables import SECTION as PLUGINS_SECTION
from gallery_builder.plugin_tables import TableProblem, plugin_values
from gallery_builder.publish_settings import PUBLISH_SCHEMA, PublishSettings, SettingConflict
from gallery_builder.publish_settings import base_url_for as _base_url_for
from gallery_builder.slugs import slugify
from gallery_builder.toml_text import line_of as _line_of
from gallery_builder.toml_text import toml_string, toml_value

CONFIG_NAME = "gallery.toml"
FORMATS = ("webp", "avif", "jpeg", "png")
#: formats every browser shows; the last configured format must be one of them
FALLBACK_FORMATS = ("jpeg", "png")
DEFAULT_QUALITY = {"jpeg": 85, "webp": 80, "avif": 60, "png": 100}
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class ConfigError(Exception):
    """A setting is wrong. ``str()`` is a complete message for the user."""

    def __init__(self, message: str, *, file: Path | None = None, line: int | None = None):
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line else f"{file}: "
        super().__init__(where + message)
        self.file = file
        self.line = line


@dataclass(frozen=True)
class GallerySettings:
    name: str
    title: str
    theme: str = "default"
    description: str = ""
    lang: str = "en"
    #: where the gallery is served: a path ("/istanbul/") or a URL ("https://x.org/trips/");
    #: "" means "/<name>/", where `gallery publish` puts it by default
    base_url: str = ""
    #: the gallery is published encrypted: a build without a password is refused
    #: (the password itself is never read from the settings file; gallery_builder.passwords)
    encrypt: bool = False

    @property
    def base_path(self) -> str:
        """The URL path of the gallery's root, with slashes at both ends: "/istanbul/"."""
        if self.base_url:
            return urlsplit(self.base_url).path
        return f"/{self.name}/"

    @property
    def absolute_url(self) -> str | None:
        """The gallery's full URL, if ``base_url`` gives one (for link previews)."""
        return self.base_url if "://" in self.base_url else None


@dataclass(frozen=True)
class ImageSettings:
    sizes: tuple[int, ...] = (640, 1280, 2048)
    thumbnail: tuple[int, int] = (400, 300)
    formats: tuple[str, ...] = ("webp", "jpeg")
    #: (format, quality) pairs for every format, sorted
    quality: tuple[tuple[str, int], ...] = tuple(sorted(DEFAULT_QUALITY.items()))
    strip_gps: bool = True
    #: publish each picture's original file, byte for byte, at its source-relative path
    originals: bool = False
    #: the image processor that makes the derivatives (gallery_builder.processors): a name
    #: the gallery_image_processors hook offers
    processor: str = "pillow"
    #: the encoders' preset: "fast", "balanced" or "small" (gallery_builder.encoder_settings)
    effort: str = encoder_settings.DEFAULT_EFFORT
    #: the ``[images.FMT]`` overrides of the preset, as sorted (option, value) pairs
    jpeg: tuple[tuple[str, Any], ...] = ()
    webp: tuple[tuple[str, Any], ...] = ()
    avif: tuple[tuple[str, Any], ...] = ()
    png: tuple[tuple[str, Any], ...] = ()

    def quality_for(self, fmt: str) -> int:
        return dict(self.quality).get(fmt, DEFAULT_QUALITY[fmt])

    def encoder_options(self, fmt: str) -> tuple[tuple[str, Any], ...]:
        """The encoder options of ``fmt``: the effort's preset with the overrides over it."""
        given = {f: getattr(self, f) for f in encoder_settings.OPTIONS}
        return encoder_settings.encoder_options(fmt, self.effort, given)


@dataclass(frozen=True)
class Config:
    """The validated settings of one build."""

    source: Path
    gallery: GallerySettings
    images: ImageSettings = field(default_factory=ImageSettings)
    #: where `gallery publish` sends the site by default (publish_settings.py)
    publish: PublishSettings = field(default_factory=PublishSettings)
    #: the file the settings came from, if any
    file: Path | None = None
    #: ``{plugin: {key: value}}``: every active plugin that declares settings
    #: (gallery_builder.plugin_settings), its ``[plugins.NAME]`` values, defaults filled in;
    #: sorted, so that it is part of the build's fingerprint
    plugins: Mapping[str, Mapping[str, Any]] = field(default_factory=FrozenMapping)
    #: where the images are made (build_settings.py); left out of ``repr``, and so of the
    #: build's fingerprint: the same site whichever executor makes it
    build: BuildSettings = field(default_factory=BuildSettings, repr=False)

    def with_theme(self, theme: str) -> Config:
        return replace(self, gallery=replace(self.gallery, theme=theme))

    def with_executor(self, executor: str) -> Config:
        """``gallery build --executor``: ``[build] executor`` replaced (the scheduler kept)."""
        return replace(self, build=replace(self.build, executor=executor))

    def with_processor(self, processor: str) -> Config:
        return replace(self, images=replace(self.images, processor=processor))


# ---------------------------------------------------------------------------------------------
# Validators: each takes the raw TOML value and returns the clean value or raises ValueError
# whose text says what is allowed.


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a string")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError("letters, digits, '.', '_' and '-', starting with a letter or digit")
    return value


def _theme(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a theme name (see `gallery themes`) or a path to a theme folder")
    return value


def _lang(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", value):
        raise ValueError('a language tag such as "en" or "pt-BR"')
    return value


def _base_url(value: Any) -> str:
    allowed = (
        'a path with "/" at both ends, such as "/istanbul/" or "/", or an http(s) URL ending '
        'in "/", such as "https://photos.example.org/istanbul/"'
    )
    if value == "":
        return value
    if (
        not isinstance(value, str)
        or not value.endswith("/")
        or any(c in value for c in " \t\n\"'<>")
    ):
        raise ValueError(allowed)
    parts = urlsplit(value)
    if value.startswith("/"):
        if parts.scheme or parts.netloc or parts.query or parts.fragment or "//" in value:
            raise ValueError(allowed)
    elif parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(allowed)
    return value


def _sizes(value: Any) -> tuple[int, ...]:
    allowed = "a non-empty list of whole numbers of pixels from 16 to 16384, e.g. [640, 1280]"
    if not isinstance(value, list) or not value:
        raise ValueError(allowed)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 16 <= item <= 16384:
            raise ValueError(allowed)
    return tuple(sorted(set(value)))


def _box(value: Any) -> tuple[int, int]:
    allowed = "[width, height] in whole pixels from 16 to 4096, e.g. [400, 300]"
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(allowed)
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 16 <= item <= 4096:
            raise ValueError(allowed)
    return (value[0], value[1])


def _formats(value: Any) -> tuple[str, ...]:
    allowed = (
        f"a list of {', '.join(FORMATS)} without repeats, the last one "
        f'{" or ".join(FALLBACK_FORMATS)} (shown by every browser), e.g. ["webp", "jpeg"]'
    )
    if not isinstance(value, list) or not value:
        raise ValueError(allowed)
    if any(item not in FORMATS for item in value) or len(set(value)) != len(value):
        raise ValueError(allowed)
    if value[-1] not in FALLBACK_FORMATS:
        raise ValueError(allowed)
    return tuple(value)


def _quality(value: Any) -> tuple[tuple[str, int], ...]:
    allowed = (
        "a whole number from 1 to 100, or a table of one per format, e.g. {webp = 80, jpeg = 85}"
    )

    def one(q: Any) -> int:
        if isinstance(q, bool) or not isinstance(q, int) or not 1 <= q <= 100:
            raise ValueError(allowed)
        return q

    if isinstance(value, dict):
        if any(k not in FORMATS for k in value):
            raise ValueError(allowed)
        # formats not given keep their default, so equal settings compare equal
        return tuple(sorted({**DEFAULT_QUALITY, **{k: one(v) for k, v in value.items()}}.items()))
    q = one(value)
    return tuple(sorted((fmt, q) for fmt in FORMATS))


def _processor(value: Any) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise ValueError('the name of an image processor, e.g. "pillow" or "vips"')
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


#: section -> key -> validator. The single place where settings are declared.
SCHEMA: dict[str, dict[str, Callable[[Any], Any]]] = {
    "gallery": {
        "name": _name,
        "title": _string,
        "theme": _theme,
        "description": _string,
        "lang": _lang,
        "base_url": _base_url,
        "encrypt": _bool,
    },
    "images": {
        "sizes": _sizes,
        "thumbnail": _box,
        "formats": _formats,
        "quality": _quality,
        "strip_gps": _bool,
        "originals": _bool,
        "processor": _processor,
        "effort": encoder_settings.effort,
        **{fmt: encoder_settings.overrides(fmt) for fmt in encoder_settings.OPTIONS},
    },
    "publish": PUBLISH_SCHEMA,
    "build": BUILD_SCHEMA,
}


def default_config(source: Path) -> Config:
    """Settings for a source folder with no gallery.toml."""
    folder = source.resolve().name or "gallery"
    return Config(
        source=source,
        gallery=GallerySettings(name=slugify(folder) or "gallery", title=folder),
    )


def load_config(
    source: Path,
    config_file: Path | None = None,
    *,
    settings: Mapping[str, Mapping[str, Setting]] | None = None,
    executor: str | None = None,
) -> Config:
    """Read ``config_file`` or ``SOURCE/gallery.toml`` (if present) over the defaults.

    ``executor`` (``gallery build --executor``) replaces ``[build] executor`` before the
    ``[build]`` keys are checked together, so that a file's ``scheduler`` serves a build that
    chooses dask on the command line.

    ``settings`` is what the active plugins declare,
    ``gallery_builder.plugin_settings.plugin_settings_schemas(pm)``: their ``[plugins.NAME]``
    tables are checked against it and fill :attr:`Config.plugins`. Without it (a caller with
    no plugin manager) those tables are not read and ``Config.plugins`` is empty."""
    base = default_config(source)
    if executor is not None:
        base = base.with_executor(executor)
    if settings is not None:
        base = replace(base, plugins=plugin_values(None, "", settings))
    path = config_file if config_file is not None else source / CONFIG_NAME
    if config_file is None:
        try:
            if not path.is_file():
                return base
        except OSError as exc:  # e.g. SOURCE can be listed but not searched (chmod 444)
            hint = f"; check the permissions of {source}" if exc.errno == errno.EACCES else ""
            raise ConfigError(
                f"cannot look for the settings file: {exc.strerror}{hint}", file=path
            ) from None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the settings file: {exc.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise ConfigError("the settings file is not UTF-8 text", file=path) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=path) from None
    config = _apply(base, raw, text, path, executor)
    if settings is None:
        return config
    blocked = getattr(settings, "blocked", frozenset())  # PluginSchemas knows them
    try:
        plugins = plugin_values(raw.get(PLUGINS_SECTION), text, settings, blocked)
    except TableProblem as exc:
        raise ConfigError(str(exc), file=path, line=exc.line) from None
    return replace(config, plugins=plugins)


#: the message for a password in the settings file (its value is never shown)
PASSWORD_REFUSED = (
    "a password is never read from gallery.toml, which is committed: use --password-file or "
    "GALLERY_PASSWORD"
)


def _refuse_password(raw: dict[str, Any], text: str, path: Path) -> None:
    """A ``password`` key anywhere (top level or in a section) is an error, before any
    other check, so that no message ever quotes its value."""
    if "password" in raw:
        raise ConfigError(PASSWORD_REFUSED, file=path, line=_line_of(text, "password"))
    for section, table in raw.items():
        if isinstance(table, dict) and "password" in table:
            line = _line_of(text, section, "password")
            raise ConfigError(f"[{section}] password: {PASSWORD_REFUSED}", file=path, line=line)
    plugins = raw.get(PLUGINS_SECTION)
    for name, table in plugins.items() if isinstance(plugins, dict) else ():
        if isinstance(table, dict) and "password" in table:
            line = _line_of(text, PLUGINS_SECTION, name, "password")
            where = f"[{PLUGINS_SECTION}.{name}] password"
            raise ConfigError(f"{where}: {PASSWORD_REFUSED}", file=path, line=line)


def _apply(
    base: Config, raw: dict[str, Any], text: str, path: Path, executor: str | None = None
) -> Config:
    clean: dict[str, dict[str, Any]] = {}
    sections = ", ".join(f"[{s}]" for s in SCHEMA) + f", [{PLUGINS_SECTION}.NAME]"
    _refuse_password(raw, text, path)
    for section, table in raw.items():
        if section == PLUGINS_SECTION:
            continue  # checked against the plugins' declarations: load_config
        if section not in SCHEMA:
            what = f"section [{section}]" if isinstance(table, dict) else f"key '{section}'"
            raise ConfigError(
                f"unknown {what}; allowed: {sections}",
                file=path,
                line=_line_of(text, section),
            )
        if not isinstance(table, dict):
            raise ConfigError(
                f"[{section}] must be a table (a [{section}] line followed by its settings)",
                file=path,
                line=_line_of(text, section),
            )
        clean[section] = {}
        for key, value in table.items():
            validator = SCHEMA[section].get(key)
            line = _line_of(text, section, key)
            if validator is None:
                raise ConfigError(
                    f"unknown key '{key}' in [{section}]; allowed: " + ", ".join(SCHEMA[section]),
                    file=path,
                    line=line,
                )
            try:
                clean[section][key] = validator(value)
            except OptionProblem as exc:  # in a sub-table: [images.jpeg] optimize
                raise _option_error(f"{section}.{key}", value, exc, text, path) from None
            except ValueError as exc:
                raise ConfigError(
                    f"[{section}] {key} = {toml_value(value)} is not allowed; expected {exc}",
                    file=path,
                    line=line,
                ) from None
    gallery = replace(base.gallery, **clean.get("gallery", {}))
    if "theme" in clean.get("gallery", {}):
        gallery = replace(gallery, theme=_resolve_theme(gallery.theme, path.parent))
    images = replace(base.images, **clean.get("images", {}))
    lines = tuple((k, _line_of(text, "publish", k) or 0) for k in clean.get("publish", {}))
    publish = PublishSettings(**clean.get("publish", {}), lines=lines)
    try:  # the base URL may come from [publish] target and domain
        base_url = _base_url_for(gallery.name, gallery.base_url, publish, partial(_line_of, text))
    except SettingConflict as exc:
        line = _line_of(text, exc.section, exc.key)
        raise ConfigError(str(exc), file=path, line=line) from None
    gallery = replace(gallery, base_url=base_url)
    build = replace(base.build, **clean.get("build", {}))
    if executor is not None:  # the command line's choice over the file's
        build = replace(build, executor=executor)
    if build.scheduler and build.executor != "dask":
        raise ConfigError(
            f'[build] scheduler = "{build.scheduler}" is for the dask executor; add '
            f'executor = "dask" to [build], or remove scheduler',
            file=path,
            line=_line_of(text, "build", "scheduler"),
        )
    return replace(base, gallery=gallery, images=images, publish=publish, build=build, file=path)


def _option_error(table: str, value: Any, exc: OptionProblem, text: str, path: Path) -> ConfigError:
    """The error for a bad key of a sub-table (``[images.jpeg]``), at that key's line."""
    where = tuple(table.split("."))
    if exc.key is None:
        message = f"[{where[0]}] {where[1]} = {toml_value(value)} is not allowed; expected {exc}"
        return ConfigError(message, file=path, line=_line_of(text, *where))
    line = _line_of(text, *where, exc.key)
    if exc.key not in value or str(exc).startswith("unknown key"):
        return ConfigError(str(exc), file=path, line=line)
    shown = toml_value(value[exc.key])
    return ConfigError(
        f"[{table}] {exc.key} = {shown} is not allowed; expected {exc}", file=path, line=line
    )


def _resolve_theme(theme: str, relative_to: Path) -> str:
    """A theme given as a path is taken relative to the settings file."""
    if "/" in theme or theme.startswith("."):
        return str((relative_to / theme).resolve())
    return theme


INIT_TEMPLATE = """\
# gallery.toml: settings for `gallery build`. Every key is optional; these are the defaults.
# Documentation: docs/configuration.md

[gallery]
# The gallery's name: the default publish prefix (s3://bucket/NAME/). Letters, digits, . _ -
name = "{name}"
# Shown as the site's title.
title = {title}
# A built-in theme (see `gallery themes`) or a path to your own theme folder.
theme = "default"
# A sentence for search engines and link previews.
description = ""
# The language of your captions and titles, for the page's lang attribute.
lang = "en"
# Where the gallery is served: a path ("/trips/istanbul/") or the full URL (for link
# previews). "" means "/NAME/", where `gallery publish` puts it. The error page needs it.
base_url = ""
# Publish the gallery encrypted (only ciphertext and an unlock page): a build then needs a
# password, given with --password-file FILE or GALLERY_PASSWORD, never written here.
encrypt = false

[images]
# Long-edge sizes, in pixels, of the web images made of each picture (never upscaled).
sizes = [640, 1280, 2048]
# The thumbnail's crop box: [width, height].
thumbnail = [400, 300]
# Output formats, best first; the last must be jpeg or png, which every browser shows.
formats = ["webp", "jpeg"]
# Encoder quality, 1-100: one number for all, or one per format.
quality = {{ webp = 80, jpeg = 85, avif = 60 }}
# Remove GPS position from published pictures (other EXIF data is kept).
strip_gps = true
# Also publish each picture's own file, unchanged, at its path in the source folder (where
# the original upload script put it). With strip_gps = true, those holding a GPS position
# are left out.
originals = false
# The image processor: "pillow", or one a plugin offers ("vips"). --processor overrides it.
processor = "pillow"
# How hard the encoders work: "fast", "balanced" or "small" (smaller files, slower).
effort = "balanced"

# Per-format encoder settings over the effort's (uncomment to change one):
# [images.jpeg]
# optimize = true
# progressive = false
# [images.webp]
# method = 2
# [images.avif]
# speed = 6
# [images.png]
# compress_level = 4

[publish]
# Where `gallery publish` sends the site when given no TARGET: "s3://bucket/prefix", a bare
# bucket name, or "file:///path". The build makes the gallery for the target's prefix.
# target = "s3://my-bucket/{name}"
# "cloudfront" (HTTPS through a CloudFront distribution) or "none" (S3 website hosting).
# cdn = "none"
# Your own host name for the distribution (with cdn = "cloudfront").
# domain = "photos.example.com"
# The AWS region and profile (default: the credential chain's).
# region = "eu-west-1"
# profile = "default"
# Wait for CloudFront to deploy a change (usually 5-15 minutes).
# wait = false
# Serve the gallery only to people you invite (gallery invite), with cdn = "cloudfront".
# private = false

[build]
# Where the images are made: "local" (worker processes on this machine, -j of them) or
# "dask" (a dask cluster: pip install 'gallery-builder[dask]'; docs/clusters.md).
executor = "local"
# With executor = "dask": the scheduler's address, such as "tcp://scheduler.lan:8786";
# "" starts a cluster of -j worker processes on this machine for the build.
scheduler = ""
"""


def init_text(source: Path) -> str:
    """The commented gallery.toml that ``gallery init`` writes for ``source``."""
    base = default_config(source)
    return INIT_TEMPLATE.format(name=base.gallery.name, title=toml_string(base.gallery.title))
