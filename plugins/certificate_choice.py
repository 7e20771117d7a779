"""Reading what ACM answers for a ``--domain`` certificate, and choosing the one to reuse.
Pure functions (see ``cloudfront_domain``)."""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Iterable
from typing import Any

from gallery_builder.plugins.cloudfront_domain import (
    CERTIFICATE_REGION,
    ISSUED,
    PENDING,
    REUSABLE,
    ValidationRecord,
    within,
)

from gallery_builder.errors import GalleryError

# a DNS name as ACM answers it: ``_hash.photos.example.com.``
_DNS_NAME = re.compile(r"^(?=.{1,254}$)(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)+$")


@dataclasses.dataclass(frozen=True)
class CertificateState:
    """What ACM says of the certificate for a domain."""

    arn: str
    domain: str
    #: ACM's status: ISSUED, PENDING_VALIDATION, FAILED, EXPIRED, REVOKED, ...
    status: str
    #: the DNS validation records, deduplicated, in ACM's order
    records: tuple[ValidationRecord, ...]
    #: when the certificate expires (None while it is pending on real ACM)
    not_after: datetime.datetime | None
    #: whether this run requested it (False: it existed already)
    requested: bool = False
    #: every DNS validation option has its record (real ACM adds them seconds after a request)
    complete: bool = True
    #: ACM's FailureReason, for a FAILED certificate
    failure_reason: str | None = None
    #: how ACM validates it: DNS or EMAIL (a certificate the user requested themselves)
    methods: tuple[str, ...] = ("DNS",)

    @property
    def issued(self) -> bool:
        return self.status == ISSUED


def _remote(what: str) -> GalleryError:
    return GalleryError(
        f"ACM answered {what}; run gallery publish again, and if it persists check the "
        "endpoint (--endpoint-url)"
    )


def certificate_state(answer: Any, domain: str, *, requested: bool = False) -> CertificateState:
    """The state in a ``describe_certificate`` answer, checked: the certificate must name
    ``domain`` (its DomainName or one of its SubjectAlternativeNames), and every validation
    record must be a CNAME named under the domain."""
    cert = answer.get("Certificate") if isinstance(answer, dict) else None
    if not isinstance(cert, dict):
        raise _remote("a certificate description without a Certificate")
    arn, status = cert.get("CertificateArn"), cert.get("Status")
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        raise _remote("a certificate without a valid CertificateArn")
    if not isinstance(status, str) or not status:
        raise _remote(f"certificate {arn} without a Status")
    names = [cert.get("DomainName"), *(_list(cert.get("SubjectAlternativeNames")))]
    if not any(isinstance(n, str) and n.lower() == domain for n in names):
        raise GalleryError(f"certificate {arn} does not name {domain}; it cannot serve the gallery")
    options = _list(cert.get("DomainValidationOptions"))
    records: dict[str, ValidationRecord] = {}
    complete, methods = True, []
    for option in options:
        if not isinstance(option, dict):
            raise _remote(f"a malformed DomainValidationOptions entry for {arn}")
        method = option.get("ValidationMethod", "DNS")
        methods.append(method if isinstance(method, str) else "DNS")
        if method != "DNS":
            continue
        record = option.get("ResourceRecord")
        if record is None:
            complete = False
            continue
        checked = _validation_record(record, domain, arn)
        records.setdefault(checked.name.lower(), checked)
    not_after = cert.get("NotAfter")
    reason = cert.get("FailureReason")
    return CertificateState(
        arn=arn,
        domain=domain,
        status=status,
        records=tuple(records.values()),
        not_after=not_after if isinstance(not_after, datetime.datetime) else None,
        requested=requested,
        complete=complete and bool(options),
        failure_reason=reason if isinstance(reason, str) else None,
        methods=tuple(dict.fromkeys(methods)) or ("DNS",),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _validation_record(record: Any, domain: str, arn: str) -> ValidationRecord:
    if not isinstance(record, dict):
        raise _remote(f"a malformed validation record for {arn}")
    name, kind, value = record.get("Name"), record.get("Type"), record.get("Value")
    if kind != "CNAME" or not isinstance(name, str) or not isinstance(value, str):
        raise _remote(f"a validation record for {arn} that is not a CNAME with a name and value")
    name, value = _dotted(name), _dotted(value)
    if not _DNS_NAME.match(name) or not _DNS_NAME.match(value) or not within(name, domain):
        raise _remote(f"a validation record for {arn} that is not a DNS name under {domain}")
    return ValidationRecord(name=name, type="CNAME", value=value)


def _dotted(name: str) -> str:
    return name if name.endswith(".") else name + "."


def pick_certificate(summaries: Iterable[Any], domain: str) -> str | None:
    """The ARN of the certificate to reuse for exactly ``domain`` among ``list_certificates``
    summaries: an ISSUED one (the latest to expire) before a PENDING_VALIDATION one (the
    newest); Amazon-issued before imported. None if there is none."""
    best: tuple[tuple[Any, ...], str] | None = None
    for summary in summaries:
        if not isinstance(summary, dict):
            continue
        arn, status, name = (summary.get(k) for k in ("CertificateArn", "Status", "DomainName"))
        if not isinstance(arn, str) or not isinstance(name, str) or name.lower() != domain:
            continue
        if status not in REUSABLE:
            continue
        when = summary.get("NotAfter") if status == ISSUED else summary.get("CreatedAt")
        stamp = when.timestamp() if isinstance(when, datetime.datetime) else 0.0
        rank = (status == ISSUED, summary.get("Type", "AMAZON_ISSUED") == "AMAZON_ISSUED", stamp)
        if best is None or rank > best[0]:
            best = (rank, arn)
    return best[1] if best else None


def unusable_problem(state: CertificateState) -> str | None:
    """Why a certificate in ``state`` can never serve the domain, with what to do; None if it
    is issued or may still be (pending DNS validation)."""
    if state.status == ISSUED:
        return None
    delete = (
        f"delete it (ACM console in {CERTIFICATE_REGION}, or `aws acm delete-certificate "
        f"--region {CERTIFICATE_REGION} --certificate-arn {state.arn}`) and run the command "
        "again: a new certificate is then requested"
    )
    domain = state.domain
    if state.status == PENDING:
        if "DNS" not in state.methods:
            return (
                f"certificate {state.arn} for {domain} waits for EMAIL validation, which "
                f"gallery-builder cannot do: approve the email ACM sent, or {delete}"
            )
        return None
    if state.status == "FAILED":
        hint = {
            "CAA_ERROR": f"a CAA record of {domain} does not allow amazon.com to issue for it",
            "NO_AVAILABLE_CONTACTS": "ACM found no contact for the domain",
            "DOMAIN_NOT_ALLOWED": "ACM does not issue certificates for this domain",
            "INVALID_PUBLIC_DOMAIN": f"{domain} is not a public domain name",
            "ADDITIONAL_VERIFICATION_REQUIRED": "AWS needs more information: ask AWS Support",
        }.get(state.failure_reason or "", "")
        reason = state.failure_reason or "no reason given"
        return (
            f"ACM could not issue certificate {state.arn} for {domain} ({reason}"
            + (f": {hint}" if hint else "")
            + f"); fix that, then {delete}"
        )
    what = {
        "VALIDATION_TIMED_OUT": "was not validated within 72 hours (the validation record "
        "was never found)",
        "EXPIRED": "has expired",
        "REVOKED": "was revoked",
        "INACTIVE": "is inactive",
    }.get(state.status, f"is {state.status}")
    return f"certificate {state.arn} for {domain} {what}; {delete}"
