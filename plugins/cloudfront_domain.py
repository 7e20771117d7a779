"""``--domain``: the pure part shared by the rest. The constants, checking the domain before
any request, :class:`DomainPending`, and the messages that tell the user what to do.

The ``--domain`` modules, pure logic apart from I/O:

- ``cloudfront_domain`` (this one), ``certificate_choice`` (reading what ACM answers, which
  certificate to reuse) and ``route53_changes`` (which zone, the record changes, what stands
  at the domain): no request is made there.
- ``cloudfront_certificate`` (ACM requests) and ``route53_records`` (Route 53 requests).
- ``domain_setup``: the steps in the order the CloudFront set-up calls them.

Everything ACM and Route 53 answer is untrusted input: a shape that is not what the API
documents is a :class:`~gallery_builder.errors.GalleryError`, never a ``KeyError``, and a
validation record is only ever written or printed if it is a DNS name under the domain.
"""

from __future__ import annotations

import dataclasses
import encodings.idna
import hashlib
import re
import unicodedata
from typing import TYPE_CHECKING

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.redact import redact_urls

if TYPE_CHECKING:
    from gallery_builder.plugins.certificate_choice import CertificateState
    from gallery_builder.plugins.route53_changes import HostedZone

#: CloudFront takes ACM certificates only from this region
CERTIFICATE_REGION = "us-east-1"
#: the Route 53 hosted zone every alias to a CloudFront distribution names
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
#: the tag on a certificate gallery-builder requested (value: the domain)
CERTIFICATE_TAG = "gallery-builder-domain"
#: the key algorithm of a certificate gallery-builder requests
KEY_ALGORITHM = "RSA_2048"
#: key algorithms CloudFront serves with an ACM certificate (list_certificates' ``keyTypes``;
#: without ``Includes`` ACM lists RSA keys only)
CLOUDFRONT_KEY_TYPES = ("RSA_2048", "EC_prime256v1")
#: the TTL of the validation CNAMEs written into Route 53
VALIDATION_TTL = 300
#: how long validation usually takes once the records are visible (for messages)
VALIDATION_TIME = "within a few minutes (at most about 30 minutes)"
ISSUED = "ISSUED"
PENDING = "PENDING_VALIDATION"
#: statuses a certificate can be reused in
REUSABLE = (ISSUED, PENDING)

#: the IAM permission each ACM or Route 53 call needs, for AccessDenied messages
PERMISSIONS = {
    "ListCertificates": "acm:ListCertificates",
    "RequestCertificate": "acm:RequestCertificate (and acm:AddTagsToCertificate for its tag)",
    "DescribeCertificate": "acm:DescribeCertificate",
    "ListHostedZonesByName": "route53:ListHostedZonesByName",
    "ListResourceRecordSets": "route53:ListResourceRecordSets",
    "ChangeResourceRecordSets": "route53:ChangeResourceRecordSets",
    "GetChange": "route53:GetChange",
}
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "403", "UnauthorizedOperation"})
_SERVICE = {"acm": "ACM", "route53": "Route 53"}

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


class DomainPending(GalleryError):
    """The certificate for the domain is not issued yet, so no distribution may carry the
    domain: the message lists the DNS records to add and says to run the command again."""

    def __init__(self, message: str, *, domain: str, records: tuple[ValidationRecord, ...]):
        super().__init__(message)
        #: the domain (lower-case ASCII)
        self.domain = domain
        #: the validation records ACM asks for
        self.records = records


# --- the domain ------------------------------------------------------------------------------


def ascii_domain(domain: str) -> str:
    """``domain`` lower-cased and in its ASCII (IDNA, ``xn--``) form.

    Raises ValueError with the reason (a sentence fragment) if it is not a host name a public
    certificate can name: no scheme, path, port, wildcard, trailing dot or space; at most 253
    characters, each label at most 63; at least two labels; not an IP address.
    """
    if not isinstance(domain, str) or not domain:
        raise ValueError("it is empty; name a host such as photos.example.com")
    if "://" in domain:
        raise ValueError("write the host name only, without a scheme (photos.example.com)")
    if any(c.isspace() for c in domain):
        raise ValueError("it contains a space")
    for char, what in (("/", "a path"), ("@", "a user name"), (":", "a port"), ("?", "a query")):
        if char in domain:
            raise ValueError(f"write the host name only, without {what}")
    if "*" in domain:
        raise ValueError("a wildcard is not supported: name the one host the gallery is on")
    if domain.endswith("."):
        raise ValueError("write it without the trailing dot")
    labels = [_ascii_label(label) for label in domain.split(".")]
    name = ".".join(labels)
    if len(labels) < 2:
        raise ValueError("it needs at least two labels, e.g. photos.example.com")
    if len(name) > 253:
        raise ValueError(f"it is {len(name)} characters long; a domain has at most 253")
    if labels[-1].isdigit():
        raise ValueError("an IP address cannot have a certificate from ACM; name a host")
    return name


def _ascii_label(label: str) -> str:
    if not label:
        raise ValueError("it has an empty label (two dots in a row, or a leading dot)")
    label = unicodedata.normalize("NFC", label).lower()
    if not label.isascii():
        try:
            encoded = encodings.idna.ToASCII(label).decode("ascii")
            back = encodings.idna.ToUnicode(encoded)
        except UnicodeError:
            raise ValueError(f"the label '{label}' is not a valid international name") from None
        if back != label:
            # IDNA 2003 maps some letters (ß -> ss): that would be another domain than the
            # one the user registered, so ask for the exact ASCII form instead of guessing
            raise ValueError(
                f"the label '{label}' is ambiguous in IDNA; write it in its xn-- form as "
                "your registrar shows it"
            )
        label = encoded
    elif label.startswith("xn--"):
        try:
            label[4:].encode("ascii").decode("punycode")
        except UnicodeError:
            raise ValueError(f"the label '{label}' is not valid punycode") from None
    if len(label) > 63:
        raise ValueError(f"the label '{label[:20]}...' is {len(label)} characters; at most 63")
    if not _LABEL.match(label):
        raise ValueError(f"the label '{label}' may hold only letters, digits and inner hyphens")
    if label[2:4] == "--" and not label.startswith("xn--"):
        raise ValueError(f"the label '{label}' has '--' in 3rd and 4th position (reserved)")
    return label


def domain_problem(domain: str) -> str | None:
    """Why ``domain`` cannot be a gallery's ``--domain``, or None (checked before any request)."""
    try:
        ascii_domain(domain)
    except ValueError as exc:
        return str(exc)
    return None


def checked_domain(domain: str) -> str:
    """``domain`` in its lower-case ASCII form; a :class:`SettingError` (exit 2) if invalid."""
    try:
        return ascii_domain(domain)
    except ValueError as exc:
        raise SettingError(f"--domain {domain!r} is not a domain name: {exc}") from None


def idempotency_token(domain: str) -> str:
    """ACM's IdempotencyToken for a request for ``domain``: the same for the same domain (a
    retried request within the hour gives the same certificate), 32 word characters."""
    return "gb" + hashlib.sha256(domain.encode("ascii")).hexdigest()[:30]


def within(name: str, zone: str) -> bool:
    """Whether DNS name ``name`` is ``zone`` or below it (case and trailing dots ignored)."""
    name, zone = name.rstrip(".").lower(), zone.rstrip(".").lower()
    return name == zone or name.endswith("." + zone)


def is_apex_like(domain: str) -> bool:
    """Whether ``domain`` looks like a zone apex (two labels), where no CNAME may stand."""
    return domain.count(".") == 1


@dataclasses.dataclass(frozen=True)
class ValidationRecord:
    """A DNS record ACM asks for to validate a domain (name and value end with a dot)."""

    name: str
    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type} {self.name} -> {self.value}"


# --- messages ---------------------------------------------------------------------------------


def point_instructions(domain: str, distribution_domain: str | None) -> str:
    """How to point ``domain`` at the distribution at a DNS host other than Route 53."""
    target = distribution_domain or "the distribution's dxxxx.cloudfront.net name, printed then"
    text = f"CNAME {domain} -> {target}"
    if is_apex_like(domain):
        return (
            f"{text}; {domain} looks like a zone apex, where a CNAME is not allowed: use your "
            "DNS host's ALIAS, ANAME or CNAME-flattening record instead"
        )
    return text + "; at a zone apex use an ALIAS or ANAME record instead"


def pending_message(
    state: CertificateState,
    *,
    zone: HostedZone | None,
    distribution_domain: str | None = None,
    command: str = "gallery publish ... --domain",
    waited: float | None = None,
) -> str:
    """The one paragraph :class:`DomainPending` says: the records to add (or that were
    written), how long validation takes, and how to go on. ``waited``: the seconds this run
    waited for validation, if it did."""
    domain = state.domain
    not_yet = "is not issued yet"
    if waited:
        not_yet = f"is still not issued after waiting {_duration(waited)}"
    records = "; ".join(f"{r.type} {r.name} -> {r.value}" for r in state.records)
    if not records:
        records = "(ACM has not given them yet; run the command again in a minute)"
    if zone is not None:
        head = (
            f"the certificate for {domain} ({state.arn}) {not_yet}: its validation "
            f"record(s) are in Route 53 zone {zone.name} ({records}); ACM usually "
            f"validates it {VALIDATION_TIME}"
        )
        then = ""
    else:
        head = (
            f"the certificate for {domain} ({state.arn}) {not_yet}, and {domain} is "
            "not in a Route 53 hosted zone of this account: add at your DNS host "
            f"{records}; ACM usually validates it {VALIDATION_TIME} once the record is visible"
        )
        then = (
            "; once the certificate is issued the command sets up the distribution: then add "
            + point_instructions(domain, distribution_domain)
        )
    return (
        f"{head}{then}; no distribution was made or changed for the domain: run the same "
        f"`{command} {domain}` command again (add --wait to wait for validation)"
    )


def _duration(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds)} s"


def aws_error(exc: Exception, endpoint: str | None, service: str) -> GalleryError:
    """What a botocore error from ``service`` ("acm" or "route53") means for the user."""
    from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

    name = _SERVICE.get(service, service)
    if isinstance(exc, NoCredentialsError):
        return GalleryError(
            "no AWS credentials found: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, run `aws configure`, or use --profile"
        )
    if isinstance(exc, EndpointConnectionError):
        return GalleryError(f"cannot reach {name}: {redact_urls(str(exc), endpoint)}")
    if not isinstance(exc, ClientError):
        return GalleryError(
            f"{name} request failed: {redact_urls(str(exc), endpoint)}; run the command again"
        )
    error = exc.response.get("Error", {}) if isinstance(exc.response, dict) else {}
    code, operation = str(error.get("Code", "")), exc.operation_name
    if code in _DENIED:
        need = PERMISSIONS.get(operation, f"{service}:{operation}")
        return GalleryError(
            f"access denied to {name} {operation}: your IAM identity needs {need} "
            "(docs/https.md lists the permissions per feature)"
        )
    message = redact_urls(str(error.get("Message") or "no message"), endpoint)
    return GalleryError(
        f"{name} refused {operation}: {code} ({message}); nothing was made for the domain "
        "after that: fix it, then run the command again"
    )
