"""Built-in publisher for ``s3://bucket[/prefix]`` (or a bare bucket name): S3 static website
hosting, set up safely, with conditional commits; with ``--cdn cloudfront``, CloudFront in
front of a private bucket (plugins/cloudfront_publisher.py).

The plugin (registered as ``s3_publisher``, the name ``--block`` takes) is this package:
factory.py makes the publisher (and is the only place boto3 is imported, when one is made);
target.py checks the target; publisher.py moves the bytes (S3Publisher), its hosting members
are bucket_hosting.py; hosting.py is the website set-up (Block Public Access, the website
configuration, the public-read statement); errors.py translates botocore's errors; lease.py,
conditional.py, listing.py, region.py and stat.py are the lease, the conditional-writes check,
the bucket listings, the bucket's region and what verify reads. Importing this package imports
none of boto3 or botocore (tests/test_s3_lazy_import.py).
"""

from __future__ import annotations

from typing import Any

from gallery_builder.plugins.s3.factory import s3_publisher
from gallery_builder.plugins.s3.target import parse_target

from gallery_builder import hookimpl

__all__ = ["gallery_publishers", "parse_target", "s3_publisher"]


@hookimpl
def gallery_publishers() -> dict[str, Any]:
    return {"s3": s3_publisher}
