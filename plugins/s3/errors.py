"""What botocore raises, said as a :class:`GalleryError` that tells the user what to do: the
IAM permission an AccessDenied needs (PERMISSIONS, as the tutorial lists them), an unreachable
endpoint (its URL's credentials redacted), a refusal with the store's own code and message.

botocore is imported inside the functions, when an error is translated: importing the S3
plugin (every ``gallery`` command does) must not import it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gallery_builder.errors import GalleryError
from gallery_builder.redact import redact_urls

#: the IAM permission each S3 API call needs, for AccessDenied messages (as the tutorial lists)
PERMISSIONS = {
    "CreateBucket": "s3:CreateBucket",
    "HeadBucket": "s3:ListBucket",
    "GetBucketLocation": "s3:GetBucketLocation",
    "GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "GetBucketWebsite": "s3:GetBucketWebsite",
    "PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "PutBucketWebsite": "s3:PutBucketWebsite",
    "PutBucketPolicy": "s3:PutBucketPolicy",
    "GetBucketPolicy": "s3:GetBucketPolicy",
    "PutObject": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "DeleteObjects": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
    "CopyObject": "s3:PutObject and s3:GetObject",
}
_DENIED = ("AccessDenied", "403", "AllAccessDisabled")
_BPA_HINT = (
    "; or the account blocks public bucket policies: in the AWS console, S3 > Block Public "
    "Access settings for this account, uncheck 'Block all public access' (see "
    "docs/publishing.md)"
)


def s3_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn what botocore raises in a publisher's ``method`` into the :class:`GalleryError`
    its ``error(exc)`` makes of it."""

    @functools.wraps(method)
    def translated(self: Any, *args: Any, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return method(self, *args, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc) from None

    return translated


@functools.cache
def body_errors() -> tuple[type[BaseException], ...]:
    """What reading a response body cut off mid-stream raises (botocore retries only the
    request, not its body)."""
    from botocore.exceptions import IncompleteReadError, ReadTimeoutError, ResponseStreamingError
    from urllib3.exceptions import ProtocolError

    return (ResponseStreamingError, IncompleteReadError, ReadTimeoutError, ProtocolError, OSError)


def s3_error(exc: Exception, bucket: str, endpoint: str) -> GalleryError:
    """What a botocore error of a request to ``bucket`` (at ``endpoint``, "" for AWS) means
    for the user, as a :class:`GalleryError`."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return GalleryError(
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, run `aws configure`, or use --profile"
        )
    # botocore's messages quote the endpoint URL, credentials written into it included
    if isinstance(exc, EndpointConnectionError):
        return GalleryError(f"cannot reach S3: {redact_urls(str(exc), endpoint)}")
    if not isinstance(exc, ClientError):
        return GalleryError(
            f"S3 request failed: {redact_urls(str(exc), endpoint)}; run gallery publish again"
        )
    error = exc.response.get("Error", {})
    code, operation = error.get("Code", ""), exc.operation_name
    if code in _DENIED:
        need = PERMISSIONS.get(operation, f"s3:{operation}")
        return GalleryError(
            f"access denied to {operation} on bucket {bucket}: your IAM identity "
            f"needs {need}" + (_BPA_HINT if operation == "PutBucketPolicy" else "")
        )
    message = redact_urls(error.get("Message") or "no message", endpoint)
    return GalleryError(
        f"S3 refused {operation} on bucket {bucket}: {code} ({message}); the live "
        "gallery is still whole: fix that, then run gallery publish again"
    )
