"""Where a bucket is: AWS or another store, the bucket's own region, the endpoints and website
addresses that follow (pure functions; the requests are the publisher's)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

#: regions whose website endpoint is s3-website-REGION; every other uses s3-website.REGION
DASH_REGIONS = frozenset(
    {"us-east-1", "us-west-1", "us-west-2", "ap-southeast-1", "ap-southeast-2",
     "ap-northeast-1", "eu-west-1", "sa-east-1", "us-gov-west-1"}
)  # fmt: skip
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+){1,3}-\d{1,2}$")


def website_endpoint(bucket: str, region: str) -> str:
    """The bucket's website URL: dash or dot form depending on the region."""
    sep = "-" if region in DASH_REGIONS else "."
    return f"http://{bucket}.s3-website{sep}{region}.amazonaws.com"


def is_aws_endpoint(endpoint_url: str | None) -> bool:
    """Whether requests go to AWS S3 itself: no endpoint URL, or one on amazonaws.com."""
    if not endpoint_url:
        return True
    host = (urlsplit(endpoint_url).hostname or "").lower()
    return host in ("amazonaws.com", "amazonaws.com.cn") or host.endswith(
        (".amazonaws.com", ".amazonaws.com.cn")
    )


def region_problem(region: Any) -> str | None:
    """Why ``region`` (read from the store or a manifest: untrusted) is not a region name."""
    if not isinstance(region, str) or not _REGION.match(region):
        return f"{str(region)[:40]!r} is not an AWS region name"
    return None


def regional_endpoint(endpoint_url: str | None, old: str, new: str) -> str | None:
    """The endpoint for a client in region ``new``: AWS's own (None) stays None; an AWS
    endpoint naming the region ``old`` names ``new``; any other endpoint is kept."""
    if not endpoint_url or not is_aws_endpoint(endpoint_url):
        return endpoint_url
    parts = urlsplit(endpoint_url)
    labels = (parts.hostname or "").split(".")
    if old not in labels:
        return endpoint_url
    host = ".".join(new if label == old else label for label in labels)
    netloc = host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def bucket_region(location: dict[str, Any]) -> str | None:
    """The region GetBucketLocation names (None and "" mean us-east-1, "EU" eu-west-1)."""
    constraint = location.get("LocationConstraint")
    if constraint in (None, ""):
        return "us-east-1"
    if constraint == "EU":
        return "eu-west-1"
    return None if region_problem(constraint) else constraint


def record_region(manifest: bytes) -> str | None:
    """The bucket region a published manifest's hosting record names, if it names a valid one
    (the manifest is remote state: anything else is ignored)."""
    try:
        hosting = json.loads(manifest).get("hosting")
    except (ValueError, UnicodeDecodeError, RecursionError, AttributeError):
        return None
    region = hosting.get("region") if isinstance(hosting, dict) else None
    return None if region_problem(region) else region


def non_aws_note(store: str) -> str:
    """What a set-up on a store other than AWS says about the website address."""
    return (
        f"{store} is not AWS S3: no amazonaws.com website address applies; the store's own "
        "website settings (if it has any) decide where the gallery is served; the URLs "
        "printed are its objects' path-style URLs"
    )
