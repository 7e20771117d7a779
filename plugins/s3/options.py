"""The options the S3 publisher declares (gallery_builder/publisher_options.py): the S3
client's (``--endpoint-url``, ``--region``, ``--profile``, for every command that opens a
publisher) and the hosting's (``--cdn``, ``--domain``, ``--wait/--no-wait``, ``--purge``,
``--private/--no-private``, for ``gallery publish``). Each defaults to None, "not given", so
that its ``[publish]`` key applies. Plain click: no botocore.
"""

from __future__ import annotations

import click

from gallery_builder.publish_settings import CDN_CHOICES

S3_OPTIONS = [
    click.Option(["--endpoint-url"], help="An S3-compatible endpoint (also AWS_ENDPOINT_URL)."),
    click.Option(
        ["--region"], help="The AWS region (default: [publish], the profile's, AWS_REGION)."
    ),
    click.Option(
        ["--profile"], help="The AWS profile (default: [publish], the credential chain's)."
    ),
]

CDN_OPTIONS = [
    click.Option(
        ["--cdn"],
        type=click.Choice(CDN_CHOICES),
        help="Serve through CloudFront over HTTPS, or S3 website hosting only "
        "(default: [publish] cdn, else none).",
    ),
    click.Option(
        ["--domain"],
        metavar="DOMAIN",
        help="Your own host name for the CloudFront distribution (default: [publish] domain).",
    ),
    click.Option(
        ["--wait/--no-wait"],
        default=None,
        help="Wait for the CloudFront deployment, usually 5–15 minutes "
        "(default: [publish] wait, else no).",
    ),
    click.Option(
        ["--purge"],
        is_flag=True,
        default=None,
        help="Invalidate deleted files at once instead of letting them expire unreferenced.",
    ),
    click.Option(
        ["--private/--no-private"],
        default=None,
        help="Serve the gallery only to people with an invitation (gallery invite): "
        "CloudFront signed cookies; --no-private makes a private gallery public again "
        "(default: [publish] private, else as it is).",
    ),
]

#: every option the S3 publisher's factory takes
OPTIONS = [*S3_OPTIONS, *CDN_OPTIONS]
#: the CDN's options are for gallery publish alone
OPTION_COMMANDS = {option.name: ("publish",) for option in CDN_OPTIONS}
#: options whose [publish] key applies to any target
PUBLISH_KEYS = ("region", "profile")
#: options whose [publish] key belongs to [publish] target's bucket (a CDN is a bucket's)
PUBLISH_PLACE_KEYS = ("cdn", "domain", "wait", "purge", "private")
