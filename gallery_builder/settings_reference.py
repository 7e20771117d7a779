"""What each key of ``gallery.toml`` means: the text of the generated configuration reference
(docs/configuration-reference.md, filled at docs build time by docs/_hooks/reference.py).

:data:`gallery_builder.config.SCHEMA` declares the keys and what they allow; this module says
what they are for, next to nothing else, so that the reference cannot drift from the code: a
test fails when SCHEMA has a key without a description here, or this has one for no key. The
allowed values are the validators' own words (:func:`allowed`), the defaults the dataclasses'
own values (:func:`default_text`), unless a default depends on the source folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SettingDoc:
    """The meaning of one key; ``default`` only where the code's default is not a constant
    (it depends on the source folder, or on other settings)."""

    description: str
    default: str | None = None


#: section -> key -> what it means, in the order the reference lists them
SETTINGS: dict[str, dict[str, SettingDoc]] = {
    "gallery": {
        "name": SettingDoc(
            "The gallery's name: the default publish prefix (`s3://bucket/NAME/`) and the "
            "`name` of manifest.json.",
            default="the source folder's name, slugified (`Istanbul 2024` -> `istanbul-2024`)",
        ),
        "title": SettingDoc(
            "Shown as the site's title (the root album's heading and every page's `<title>`).",
            default="the source folder's name, as it is",
        ),
        "theme": SettingDoc(
            "A theme by name (see `gallery themes`) or a path to a theme folder, relative to "
            "the settings file."
        ),
        "description": SettingDoc("A sentence for search engines and link previews."),
        "lang": SettingDoc(
            "The language of your captions and titles: the pages' `lang` attribute."
        ),
        "base_url": SettingDoc(
            "Where the gallery is served: a path, or the full URL (for link previews). The "
            "error page's links need it.",
            default='`""`: `/NAME/`, or what `[publish] target` and `domain` give',
        ),
        "encrypt": SettingDoc(
            "Publish the gallery encrypted (only ciphertext and an unlock page): a build then "
            "needs a password, from `--password-file FILE` or `GALLERY_PASSWORD`, never from "
            "this file."
        ),
    },
    "images": {
        "sizes": SettingDoc(
            "Long-edge sizes, in pixels, of the web images made of each picture (never upscaled)."
        ),
        "thumbnail": SettingDoc("The thumbnail's crop box, `[width, height]` in pixels."),
        "formats": SettingDoc("Output formats, best first; browsers pick the first they can show."),
        "quality": SettingDoc("Encoder quality, 1-100: one number for all, or one per format."),
        "strip_gps": SettingDoc(
            "Remove the GPS position from published pictures (other EXIF data is kept)."
        ),
        "originals": SettingDoc(
            "Also publish each picture's own file, byte for byte, at its path in the source "
            "folder; with `strip_gps = true`, those holding a GPS position are left out."
        ),
        "processor": SettingDoc(
            "The image processor that makes the images: `pillow`, or one a plugin offers "
            "(`vips` with `pip install 'gallery-builder[vips]'`). Like `gallery build "
            "--processor`, which wins."
        ),
        "effort": SettingDoc(
            "How hard the encoders work, a preset of the per-format settings: `fast` (each "
            "encoder's quickest setting, files up to a quarter larger), `balanced` (each "
            "encoder's best trade of time for bytes), or `small` (the smallest files worth "
            "their time: about twice the encoding time, four times for AVIF); measured in "
            "building.md."
        ),
        "jpeg": SettingDoc(
            "The `[images.jpeg]` table: `optimize` (Huffman tables computed per image) and "
            "`progressive` (scans of increasing detail), over the effort's.",
            default="the effort's: `optimize = true`, `progressive = false`",
        ),
        "webp": SettingDoc(
            "The `[images.webp]` table: `method`, 0 (fastest) to 6 (smallest), over the effort's.",
            default="the effort's: `method = 2`",
        ),
        "avif": SettingDoc(
            "The `[images.avif]` table: `speed`, 0 (slowest, smallest) to 10 (fastest), over "
            "the effort's.",
            default="the effort's: `speed = 6`",
        ),
        "png": SettingDoc(
            "The `[images.png]` table: `compress_level`, 0 (none) to 9 (smallest), over the "
            "effort's.",
            default="the effort's: `compress_level = 4`",
        ),
    },
    "publish": {
        "target": SettingDoc(
            "Where `gallery publish` sends the site when given no TARGET; the build makes the "
            "gallery for the target's prefix."
        ),
        "cdn": SettingDoc(
            "`cloudfront`: HTTPS through a CloudFront distribution in front of a private "
            "bucket; `none`: S3 website hosting (HTTP). Like `--cdn`."
        ),
        "domain": SettingDoc(
            'Your own host name for the distribution (with `cdn = "cloudfront"`): a '
            "certificate in ACM and DNS records. Like `--domain`."
        ),
        "region": SettingDoc("The AWS region of a new bucket. Like `--region`."),
        "profile": SettingDoc(
            "The AWS profile (in `~/.aws/config`) whose credentials publish uses. Like `--profile`."
        ),
        "wait": SettingDoc(
            "Wait for CloudFront to deploy a change (usually 5-15 minutes). Like `--wait`."
        ),
        "private": SettingDoc(
            "Serve the gallery only to people you invite (`gallery invite`), with "
            '`cdn = "cloudfront"`. Like `--private`.'
        ),
    },
    "build": {
        "executor": SettingDoc(
            "Where the images are made: `local`, worker processes on this machine (`-j` of "
            "them); `dask`, a dask cluster (`pip install 'gallery-builder[dask]'`; see "
            "Clusters). Like `--executor`."
        ),
        "scheduler": SettingDoc(
            'With `executor = "dask"`: the address of a running dask scheduler; `""` starts '
            "a cluster of `-j` worker processes on this machine for the build."
        ),
    },
}

#: shown for a ``[publish]`` key that is not set (its value comes from the command line, the
#: AWS configuration or the publisher's own default)
UNSET = "not set"


class _Probe:
    """A value no validator accepts, so that each says, in its ValueError, what it allows."""


def allowed(validator: Any) -> str:
    """What ``validator`` (a SCHEMA entry) allows, in its own words."""
    try:
        validator(_Probe())
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{validator!r} accepted a value of no type")  # pragma: no cover


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple) and value and all(isinstance(v, tuple) for v in value):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value) + "}"
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value)


def default_text(section: str, key: str) -> str:
    """The default of ``[section] key`` as the reference shows it."""
    from gallery_builder.config import default_config

    doc = SETTINGS[section][key]
    if doc.default is not None:
        return doc.default
    value = getattr(getattr(default_config(Path("photos")), section), key)
    return UNSET if value is None else f"`{_toml(value)}`"
