"""The S3 target, ``s3://bucket[/prefix]`` or a bare bucket name, checked before any request
(``gallery build`` runs the check on ``[publish] target`` too): the bucket's name, the prefix,
and no credentials written into the URL. Pure: no botocore.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from gallery_builder.errors import SettingError
from gallery_builder.keys import ALLOWED, prefix_problem
from gallery_builder.redact import redact_url

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def bucket_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid S3 bucket name, or None (checked before any request)."""
    if not _BUCKET.match(name):
        return "3 to 63 lower-case letters, digits, '.' and '-', starting and ending with one"
    if ".." in name or re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "no two dots in a row, and not shaped like an IP address"
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3")):
        return "a prefix or suffix S3 reserves"
    return None


def parse_target(target: str) -> tuple[str, str | None]:
    """``s3://bucket/prefix`` -> ("bucket", "prefix"); a bare name -> ("name", None)."""
    if "://" in target:
        parts = urlsplit(target)
        if "@" in parts.netloc:
            raise SettingError(
                f"{redact_url(target)} carries credentials in its URL: give them as AWS_PROFILE, "
                "--profile or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY instead"
            )
        # one '/' after the bucket, and a trailing one, separate: the rest is the prefix
        bucket, prefix = parts.netloc, parts.path.removeprefix("/").removesuffix("/")
        problem = prefix_problem(prefix)
        if problem:
            raise SettingError(
                f"{redact_url(target)} names the prefix {prefix!r}, which {problem}: a "
                f"prefix is {ALLOWED} (e.g. s3://{bucket}/trips/2024)"
            )
    else:
        bucket, prefix = target, ""
    problem = bucket_name_problem(bucket)
    if problem:
        raise SettingError(f"{redact_url(bucket)!r} is not a valid S3 bucket name: {problem}")
    return bucket, prefix or None
