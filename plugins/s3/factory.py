"""The S3 publisher's factory: ``s3://bucket[/prefix]`` (or a bare bucket name) with the
standard AWS credential chain, and with ``--cdn cloudfront`` the CloudFront publisher.

boto3 and botocore are imported here only when a publisher is made (``gallery --help`` and
``gallery build`` import the plugin, never boto3: tests/test_s3_lazy_import.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from gallery_builder.plugins.s3.options import (
    OPTION_COMMANDS,
    OPTIONS,
    PUBLISH_KEYS,
    PUBLISH_PLACE_KEYS,
)
from gallery_builder.plugins.s3.target import parse_target

from gallery_builder.errors import SettingError
from gallery_builder.redact import redact_url

if TYPE_CHECKING:
    from gallery_builder.plugins.s3.publisher import S3Publisher


#: attempts per request unless AWS_MAX_ATTEMPTS says otherwise (botocore reads it itself)
MAX_ATTEMPTS = 8


def _retries() -> dict[str, Any]:
    """botocore's standard retries: MAX_ATTEMPTS, or the user's ``AWS_MAX_ATTEMPTS``."""
    if os.environ.get("AWS_MAX_ATTEMPTS", "").strip():
        return {"mode": "standard"}  # botocore takes the variable (and checks it)
    return {"mode": "standard", "max_attempts": MAX_ATTEMPTS}


def s3_publisher(
    target: str,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    cdn: str | None = None,
    domain: str | None = None,
    wait: bool = False,
    purge: bool = False,
    private: bool | None = None,
) -> S3Publisher:
    """A publisher for ``target`` using the standard AWS credential chain; with
    ``cdn="cloudfront"``, one whose hosting is CloudFront (plugins/cloudfront_publisher.py),
    its CloudFront, ACM and Route 53 clients made on first use from the same session,
    endpoint and retry config."""
    import boto3
    from botocore.config import Config as BotoConfig
    from botocore.exceptions import ProfileNotFound
    from gallery_builder.plugins.s3.publisher import S3Publisher
    from gallery_builder.plugins.s3.region import regional_endpoint

    bucket, prefix_hint = parse_target(target)
    cdn = _cdn_choice(cdn, domain)
    if private and cdn != "cloudfront":
        raise SettingError(
            "a private gallery needs CloudFront (--cdn cloudfront): S3 website hosting serves "
            "every file to anyone"
        )
    if domain:  # before any request: the certificate and the alias are for this exact name
        from gallery_builder.plugins.cloudfront_domain import checked_domain

        domain = checked_domain(domain)
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise SettingError(f"no AWS profile named '{profile}'") from None
    try:
        config = BotoConfig(retries=_retries())
        client = session.client("s3", endpoint_url=endpoint_url, config=config)
    except ValueError:  # botocore's message quotes the URL, credentials included
        raise SettingError(
            f"--endpoint-url {redact_url(endpoint_url or '')} is not a valid URL; write "
            "http(s)://host[:port]"
        ) from None
    region_name = client.meta.region_name or "us-east-1"

    def regional(other: str) -> Any:
        """A client like ``client`` for the bucket's own region."""
        endpoint = regional_endpoint(endpoint_url, region_name, other)
        return session.client("s3", region_name=other, endpoint_url=endpoint, config=config)

    if cdn != "cloudfront":
        website = S3Publisher(bucket, client, region_name, prefix_hint, regional=regional)
        website.cdn_refused = cdn == "none"
        return website
    from gallery_builder.plugins.cloudfront_publisher import CloudFrontPublisher
    from gallery_builder.plugins.cloudfront_setup import AwsClients

    clients = AwsClients(session, endpoint_url, config)
    return CloudFrontPublisher(bucket, client, region_name, prefix_hint, regional=regional,
                               clients=clients, domain=domain, wait=wait, purge=purge,
                               private=private)  # fmt: skip


def _cdn_choice(cdn: str | None, domain: str | None) -> str | None:
    """``--cdn``: none (S3 website hosting) or cloudfront; ``--domain`` needs cloudfront."""
    from gallery_builder.plugins.cloudfront_config import CDN_CHOICES

    if cdn is not None and cdn not in CDN_CHOICES:
        raise SettingError(f"--cdn {cdn!r} is not one of: {', '.join(CDN_CHOICES)}")
    if domain and cdn != "cloudfront":
        raise SettingError(
            f"--domain {domain} needs --cdn cloudfront (S3 website hosting serves no HTTPS, "
            "so it cannot have a domain's certificate)"
        )
    return cdn


#: the checks the factory makes of a target before any request (`gallery build` runs them on
#: [publish] target): bucket name, prefix, no credentials in the URL
s3_publisher.check_target = parse_target  # type: ignore[attr-defined]
#: the options it takes (plugins/s3/options.py; gallery_builder/publisher_options.py)
s3_publisher.options = OPTIONS  # type: ignore[attr-defined]
s3_publisher.option_commands = OPTION_COMMANDS  # type: ignore[attr-defined]
s3_publisher.publish_keys = PUBLISH_KEYS  # type: ignore[attr-defined]
s3_publisher.publish_place_keys = PUBLISH_PLACE_KEYS  # type: ignore[attr-defined]
