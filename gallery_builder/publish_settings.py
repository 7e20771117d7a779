"""``[publish]`` in gallery.toml: where and how ``gallery publish`` sends the site when the
command line does not say, and the base URL the build takes from it.

``target`` names the place (``s3://bucket/prefix``, a bare bucket, ``file:///path``); the
build then makes the gallery for ``/<prefix>/`` (``https://<domain>/<prefix>/`` with
``domain``), so that its error page links from where it is published. Pure: the validators
raise ``ValueError`` saying what is allowed (config.py adds the file and line), the
cross-checks raise :class:`SettingConflict`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from gallery_builder.keys import ALLOWED, prefix_problem

CDN_CHOICES = ("cloudfront", "none")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_REGION = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PublishSettings:
    """The validated ``[publish]`` table; None where a key is not set."""

    target: str | None = None
    cdn: str | None = None
    domain: str | None = None
    region: str | None = None
    profile: str | None = None
    wait: bool | None = None
    #: a private gallery (CloudFront signed cookies: docs/https.md, "Private galleries")
    private: bool | None = None
    #: (key, line) for each key set in the settings file, for messages
    lines: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    def line(self, key: str) -> int | None:
        return dict(self.lines).get(key)


@dataclass(frozen=True)
class TargetParts:
    """A target split the way the built-in publishers read it."""

    scheme: str  #: "s3" for a bare bucket name
    bucket: str  #: the netloc; for file://, the folder's path
    #: the prefix the target names (s3 only; a file:// target names a folder, not a prefix)
    prefix: str | None


def split_target(target: str) -> TargetParts:
    """``s3://b/trips/2024`` -> (s3, b, "trips/2024"); ``b`` -> (s3, b, None); the prefix,
    like the s3 publisher's, is the path without one leading and one trailing '/'."""
    if "://" not in target:
        return TargetParts("s3", target, None)
    parts = urlsplit(target)
    scheme = parts.scheme.lower()
    if scheme == "file":
        return TargetParts(scheme, parts.path.rstrip("/") or "/", None)
    prefix = None
    if scheme == "s3":
        prefix = parts.path.removeprefix("/").removesuffix("/") or None
    return TargetParts(scheme, parts.netloc, prefix)


def same_place(a: str, b: str) -> bool:
    """Whether two targets are in one bucket (the same scheme and bucket; a bare name is
    ``s3://name``): a CDN and a domain belong to a bucket, not to one prefix of it."""
    one, other = split_target(a), split_target(b)
    if one.scheme == "file":  # a folder's path is case-sensitive; a host name is not
        return (one.scheme, one.bucket) == (other.scheme, other.bucket)
    return (one.scheme, one.bucket.lower()) == (other.scheme, other.bucket.lower())


# --- Validators (the raw TOML value -> the clean value, or ValueError saying what is allowed)

_TARGET_ALLOWED = (
    'a publish target: "s3://bucket" or "s3://bucket/prefix", a bare bucket name, or '
    '"file:///absolute/path"'
)


def target_problem(value: str) -> str | None:
    """Why ``value`` cannot be a publish target, or None: the shape every target has, a
    valid prefix (gallery_builder.keys), no credentials in the URL. What a publisher checks
    besides (S3's bucket name rules, a file URL's three slashes), and whether a plugin
    publishes to the scheme at all, is checked with the plugins loaded, by the publisher's
    own code: :func:`gallery_builder.site_settings.check_publisher`."""
    if not value or value != value.strip() or _CONTROL.search(value):
        return "no spaces around it, no control characters"
    if "://" not in value:
        return None  # a bare bucket name: the s3 publisher's to check
    scheme = value.split("://", 1)[0]
    if not _SCHEME.match(scheme):
        return f"'{scheme}://' is not a URL scheme"
    parts = urlsplit(value)
    if "@" in parts.netloc:
        return "no credentials in the URL: set [publish] profile, or AWS_PROFILE, instead"
    if parts.query or parts.fragment or "?" in value or "#" in value:
        return "no '?' or '#' part"
    if parts.scheme.lower() == "file":
        return None  # a folder, not a bucket and a prefix: the file publisher's to check
    if not parts.netloc:
        return f"a bucket after '{scheme}://'"
    prefix = parts.path.removeprefix("/").removesuffix("/")
    problem = prefix_problem(prefix)
    if problem:
        return f"its prefix {prefix!r} {problem}; a prefix is {ALLOWED}"
    return None


def _target(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(_TARGET_ALLOWED)
    problem = target_problem(value)
    if problem:
        raise ValueError(f"{_TARGET_ALLOWED} ({problem})")
    return value


def _cdn(value: Any) -> str:
    if value not in CDN_CHOICES:
        raise ValueError(
            '"cloudfront" (HTTPS through a CloudFront distribution) or "none" (S3 website hosting)'
        )
    return value


def domain_problem(value: str) -> str | None:
    """Why ``value`` is not a host name (the basic shape; the domain set-up checks the rest)."""
    if "://" in value or "/" in value:
        return "the host name alone, without https:// or a path"
    labels = value.split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_LABEL.match(x) for x in labels):
        return (
            "dot-separated labels of lower-case letters, digits and '-' (not at either end "
            "of a label), at least two, 253 characters at most"
        )
    if labels[-1].isdigit():
        return "a name, not an IP address"
    return None


def _domain(value: Any) -> str:
    allowed = 'a host name such as "photos.example.com"'
    if not isinstance(value, str):
        raise ValueError(allowed)
    problem = domain_problem(value.lower())
    if problem:
        raise ValueError(f"{allowed}: {problem}")
    return value.lower()


def _region(value: Any) -> str:
    if not isinstance(value, str) or not _REGION.match(value):
        raise ValueError('a region name such as "eu-west-1": lower-case letters, digits and "-"')
    return value


def _profile(value: Any) -> str:
    if (
        not isinstance(value, str)
        or not value.strip()
        or value != value.strip()
        or _CONTROL.search(value)
    ):
        raise ValueError("the name of a profile in ~/.aws/config (not empty, no spaces around it)")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("true or false")
    return value


#: key -> validator, in the order the docs list them
PUBLISH_SCHEMA: dict[str, Callable[[Any], Any]] = {
    "target": _target,
    "cdn": _cdn,
    "domain": _domain,
    "region": _region,
    "profile": _profile,
    "wait": _bool,
    "private": _bool,
}


# --- Cross-checks ----------------------------------------------------------------------------


class SettingConflict(ValueError):
    """Two settings disagree; ``section``/``key`` is the one the message is reported at."""

    def __init__(self, message: str, section: str, key: str):
        super().__init__(message)
        self.section, self.key = section, key


def check_publish(publish: PublishSettings) -> None:
    """The keys of ``[publish]`` fit together."""
    if publish.domain and publish.cdn == "none":
        raise SettingConflict(
            f'[publish] domain needs CloudFront, but cdn = "none" (line {publish.line("cdn")}): '
            'set cdn = "cloudfront", or remove domain',
            "publish",
            "domain",
        )
    if publish.private and publish.cdn != "cloudfront":
        raise SettingConflict(
            "[publish] private = true needs CloudFront (S3 website hosting serves every file to "
            'anyone): set cdn = "cloudfront"'
            + (f' (line {publish.line("cdn")} says "{publish.cdn}")' if publish.cdn else "")
            + ", or remove private",
            "publish",
            "private",
        )
    if publish.target and split_target(publish.target).scheme == "file":
        wanted = {"cdn": publish.cdn == "cloudfront", "domain": bool(publish.domain)}
        for key in (k for k, given in wanted.items() if given):
            raise SettingConflict(
                f"[publish] {key} is for an S3 target, but target is a folder (line "
                f"{publish.line('target')}): a file target has no CDN; set target = "
                '"s3://bucket/prefix", or remove ' + key,
                "publish",
                key,
            )


def base_url_for(
    name: str, base_url: str, publish: PublishSettings, line_of: Callable[[str, str], int | None]
) -> str:
    """``[gallery] base_url`` as the build uses it: as set, or, when unset, taken from
    ``[publish]``: ``/<prefix>/`` for a target naming a prefix (else ``/<name>/``, where
    publish puts it), ``https://<domain>/…/`` with a domain. A base_url that is set and
    disagrees with the target's prefix or the domain raises :class:`SettingConflict`."""
    check_publish(publish)
    prefix = split_target(publish.target).prefix if publish.target else None
    if not base_url:
        if prefix is None and not publish.domain:
            return ""
        path = "/" + quote(prefix or name) + "/"
        return f"https://{publish.domain}{path}" if publish.domain else path
    given = urlsplit(base_url)
    fix = (
        "remove [gallery] base_url (the target's prefix gives it), or make the two agree; "
        "a gallery published elsewhere than its base_url has a broken error page"
    )
    if prefix is not None and unquote(given.path) != f"/{prefix}/":
        raise SettingConflict(
            f'[gallery] base_url = "{base_url}" serves the gallery at {unquote(given.path)}, '
            f'but [publish] target = "{publish.target}" (line {line_of("publish", "target")}) '
            f"publishes it at /{prefix}/: {fix}",
            "gallery",
            "base_url",
        )
    if publish.domain and given.netloc and given.hostname != publish.domain:
        raise SettingConflict(
            f'[gallery] base_url = "{base_url}" names the host {given.netloc}, but [publish] '
            f'domain = "{publish.domain}" (line {line_of("publish", "domain")}): {fix}',
            "gallery",
            "base_url",
        )
    return base_url
