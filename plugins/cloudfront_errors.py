"""CloudFront's errors as one line that says what happened and what to do."""

from __future__ import annotations

import re
from typing import Any

from gallery_builder.errors import GalleryError
from gallery_builder.redact import redact_urls

#: error codes that mean "this endpoint does not have that call" (moto: no route -> 404)
NOT_IMPLEMENTED = frozenset({"404", "NotImplemented", "501"})
#: moto 5.2.5 answers update_function with a 500 (NotImplementedError in the server)
UPDATE_NOT_IMPLEMENTED = NOT_IMPLEMENTED | {"InternalError", "500"}

_WHAT_TO_DO = {
    "CNAMEAlreadyExists": (
        "the domain is already an alias of another CloudFront distribution (perhaps in "
        "another AWS account): remove it there, or choose another --domain"
    ),
    "InvalidViewerCertificate": (
        "the certificate must be in us-east-1, ISSUED, and cover the domain: check it with "
        "`aws acm describe-certificate --region us-east-1 --certificate-arn ARN`, then run "
        "gallery publish again"
    ),
    "TooManyDistributions": (
        "the account has as many CloudFront distributions as its quota allows: delete an "
        "unused one, or ask AWS for a higher quota (Service Quotas > CloudFront)"
    ),
    "TooManyFunctions": (
        "the account has as many CloudFront Functions as its quota allows: delete an unused "
        "one, or ask for a higher quota"
    ),
    "TooManyCachePolicies": (
        "the account has as many cache policies as its quota allows: delete an unused one"
    ),
    "TooManyResponseHeadersPolicies": (
        "the account has as many response headers policies as its quota allows: delete an "
        "unused one"
    ),
    "TooManyOriginAccessControls": (
        "the account has as many origin access controls as its quota allows: delete an unused one"
    ),
    "PreconditionFailed": (
        "someone changed it while this publish ran: run gallery publish --reconfigure again"
    ),
    "DistributionAlreadyExists": (
        "a distribution for this bucket exists but could not be found by its "
        "gallery-builder-bucket tag: tag it, or delete it, then run gallery publish again"
    ),
}


def _action(operation: str) -> str:
    """``CreateDistributionWithTags`` -> ``cloudfront:CreateDistribution`` (IAM has no
    separate ...WithTags action: it needs CreateDistribution and TagResource)."""
    if operation == "CreateDistributionWithTags":
        return "cloudfront:CreateDistribution and cloudfront:TagResource"
    return f"cloudfront:{re.sub(r'2020_05_31$', '', operation)}"


def cloudfront_error(exc: Exception, endpoint: str | None) -> GalleryError:
    """What a botocore error from a CloudFront call means for the user."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    if isinstance(exc, NoCredentialsError):
        return GalleryError(
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, run `aws configure`, or use --profile"
        )
    if isinstance(exc, EndpointConnectionError):
        return GalleryError(f"cannot reach CloudFront: {redact_urls(str(exc), endpoint or '')}")
    if not isinstance(exc, ClientError):
        return GalleryError(
            f"CloudFront request failed: {redact_urls(str(exc), endpoint or '')}; run gallery "
            "publish again"
        )
    error: Any = exc.response.get("Error", {})
    code, operation = str(error.get("Code", "")), exc.operation_name
    if code in ("AccessDenied", "AccessDeniedException", "403"):
        return GalleryError(
            f"access denied to CloudFront {operation}: your IAM identity needs "
            f"{_action(operation)} (docs/publishing.md lists every permission)"
        )
    message = redact_urls(str(error.get("Message") or "no message"), endpoint or "")[:300]
    advice = _WHAT_TO_DO.get(code, "fix that, then run gallery publish again")
    return GalleryError(
        f"CloudFront refused {operation}: {code} ({message}); {advice}; the live gallery is "
        "unchanged"
    )


class CloudFrontRefused(GalleryError):
    """A CloudFront call refused, already said in one line; ``code`` and ``aws_message`` are
    what CloudFront answered, for the caller that handles some codes itself."""

    def __init__(self, message: str, *, code: str, aws_message: str) -> None:
        super().__init__(message)
        self.code, self.aws_message = code, aws_message


def refused(exc: Exception, endpoint: str | None) -> CloudFrontRefused:
    """``exc`` (from botocore) as a :class:`CloudFrontRefused`."""
    response = getattr(exc, "response", None)
    error = (response.get("Error") or {}) if isinstance(response, dict) else {}
    return CloudFrontRefused(
        str(cloudfront_error(exc, endpoint)),
        code=error_code(exc),
        aws_message=str(error.get("Message") or ""),
    )


def error_code(exc: Exception) -> str:
    """The error code of a botocore ClientError or a CloudFrontRefused ('' otherwise)."""
    if isinstance(exc, CloudFrontRefused):
        return exc.code
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return ""
    return str((response.get("Error") or {}).get("Code", ""))
