"""The ACM certificate for a gallery's ``--domain``: found again or requested (in us-east-1,
DNS validation), described until its validation records are there, waited for on request.

What moto 5.2.5 does differently from ACM (HOSTING.md §2), and what is done about it:

- moto keeps certificates per region but nothing makes CloudFront take them from us-east-1
  only: :func:`ensure_certificate` refuses a client of another region (and an ARN of another
  region) itself, before any request.
- moto returns the validation records at once; real ACM leaves ``ResourceRecord`` out for a
  few seconds after a request, so the description is read again (``RECORD_POLLS`` times,
  ``RECORD_POLL_SECONDS`` apart) until every DNS option has its record.
- moto issues every certificate ``MOTO_ACM_VALIDATION_WAIT`` seconds after the request
  (default 60), whether or not the CNAME exists; ACM issues once it sees the CNAME.
- moto does not check the IdempotencyToken's length (ACM: at most 32 word characters);
  :func:`~gallery_builder.plugins.cloudfront_domain.idempotency_token` makes one that fits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator
from typing import Any

from gallery_builder.plugins.certificate_choice import (
    CertificateState,
    certificate_state,
    pick_certificate,
    unusable_problem,
)
from gallery_builder.plugins.cloudfront_domain import (
    CERTIFICATE_REGION,
    CERTIFICATE_TAG,
    CLOUDFRONT_KEY_TYPES,
    KEY_ALGORITHM,
    PENDING,
    REUSABLE,
    aws_error,
    checked_domain,
    idempotency_token,
)

from gallery_builder.errors import GalleryError

#: how often a fresh certificate's description is read until its records are there
RECORD_POLLS = 10
RECORD_POLL_SECONDS = 2.0
#: the certificate_validated waiter: 15 s x 60 = 15 minutes (botocore's default, 60 s x 5, is
#: often too short)
WAIT_DELAY = 15
WAIT_ATTEMPTS = 60
#: seconds between the waiter's polls instead of WAIT_DELAY (tests; impatient users)
WAIT_DELAY_ENV = "GALLERY_CERTIFICATE_WAIT_DELAY"


def acm_client(session: Any, *, endpoint_url: str | None = None, config: Any = None) -> Any:
    """An ACM client of ``session`` in us-east-1, the only region CloudFront takes
    certificates from, whatever region the session is in."""
    return session.client(
        "acm", region_name=CERTIFICATE_REGION, endpoint_url=endpoint_url, config=config
    )


@contextlib.contextmanager
def acm_errors(acm: Any) -> Iterator[None]:
    """botocore's errors from ``acm`` as :class:`GalleryError` s that say what to do."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, acm.meta.endpoint_url, "acm") from None


def check_region(acm: Any) -> None:
    """Refuse an ACM client outside us-east-1 (moto does not; CloudFront would)."""
    region = acm.meta.region_name
    if region != CERTIFICATE_REGION:
        raise GalleryError(
            f"CloudFront takes ACM certificates only from {CERTIFICATE_REGION}, not {region}: "
            f"the certificate must be requested there (gallery-builder uses {CERTIFICATE_REGION} "
            "for ACM whatever --region says)"
        )


def find_certificate(acm: Any, domain: str) -> str | None:
    """The ARN of an ISSUED (else PENDING_VALIDATION) certificate for exactly ``domain`` in
    the client's region, or None. Read-only."""
    summaries: list[Any] = []
    with acm_errors(acm):
        pages = acm.get_paginator("list_certificates").paginate(
            CertificateStatuses=list(REUSABLE),
            Includes={"keyTypes": list(CLOUDFRONT_KEY_TYPES)},
        )
        for page in pages:
            found = page.get("CertificateSummaryList") if isinstance(page, dict) else None
            summaries.extend(found if isinstance(found, list) else [])
    return pick_certificate(summaries, domain)


def describe(acm: Any, arn: str, domain: str, *, requested: bool = False) -> CertificateState:
    """The certificate's state as ACM describes it now (one request)."""
    with acm_errors(acm):
        answer = acm.describe_certificate(CertificateArn=arn)
    return certificate_state(answer, domain, requested=requested)


def describe_with_records(
    acm: Any, arn: str, domain: str, *, requested: bool = False, polls: int = RECORD_POLLS
) -> CertificateState:
    """The state, read again (``polls`` times at most, ``RECORD_POLL_SECONDS`` apart) while a
    pending certificate's DNS validation records are still missing."""
    state = describe(acm, arn, domain, requested=requested)
    for _ in range(polls - 1):
        if state.complete or state.status != PENDING:
            break
        time.sleep(RECORD_POLL_SECONDS)
        state = describe(acm, arn, domain, requested=requested)
    if state.status == PENDING and "DNS" in state.methods and not state.complete:
        raise GalleryError(
            f"ACM has not given the DNS validation records of certificate {arn} for {domain} "
            "yet; run the command again in a minute"
        )
    return state


def ensure_certificate(
    acm: Any, domain: str, *, wait: bool, delay: float | None = None
) -> CertificateState:
    """The certificate for exactly ``domain`` in us-east-1: an ISSUED or PENDING_VALIDATION
    one reused, else one requested (DNS validation, RSA 2048, tagged
    ``gallery-builder-domain=DOMAIN``, a deterministic IdempotencyToken); described until its
    validation records are there. With ``wait``, a pending certificate is waited for (see
    :func:`wait_for_certificate`): the caller has made the records visible.

    Raises :class:`GalleryError` for a domain that is not valid (before any request), a client
    outside us-east-1, and a certificate that can never be issued (FAILED, timed out...), saying
    what to do.
    """
    domain = checked_domain(domain)
    check_region(acm)
    arn = find_certificate(acm, domain)
    requested = arn is None
    if arn is None:
        with acm_errors(acm):
            answer = acm.request_certificate(
                DomainName=domain,
                ValidationMethod="DNS",
                IdempotencyToken=idempotency_token(domain),
                KeyAlgorithm=KEY_ALGORITHM,
                Tags=[{"Key": CERTIFICATE_TAG, "Value": domain}],
            )
        arn = answer.get("CertificateArn") if isinstance(answer, dict) else None
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            raise GalleryError("ACM answered a certificate request without a CertificateArn")
    if arn.split(":")[3:4] != [CERTIFICATE_REGION]:
        raise GalleryError(f"ACM answered certificate {arn}, which is not in {CERTIFICATE_REGION}")
    state = describe_with_records(acm, arn, domain, requested=requested)
    if problem := unusable_problem(state):
        raise GalleryError(problem)
    if wait and state.status == PENDING:
        state = wait_for_certificate(acm, state, delay=delay)
    return state


def wait_delay(delay: float | None = None) -> float:
    """Seconds between the waiter's polls: ``delay``, else ``GALLERY_CERTIFICATE_WAIT_DELAY``,
    else 15."""
    if delay is not None:
        return delay
    text = os.environ.get(WAIT_DELAY_ENV, "").strip()
    if not text:
        return WAIT_DELAY
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise GalleryError(f"{WAIT_DELAY_ENV}={text!r} is not a number of seconds (0 to 3600)")
    return value


def wait_for_certificate(
    acm: Any,
    state: CertificateState,
    *,
    delay: float | None = None,
    attempts: int = WAIT_ATTEMPTS,
) -> CertificateState:
    """Wait with ACM's ``certificate_validated`` waiter (``delay`` x ``attempts``, 15 s x 60
    by default) and return the state after it. A certificate still pending at the end is
    returned as it is (the caller says what to do); one that failed is a GalleryError."""
    from botocore.exceptions import WaiterError

    config = {"Delay": wait_delay(delay), "MaxAttempts": attempts}
    # timed out, failed or refused: the description below says which
    with acm_errors(acm), contextlib.suppress(WaiterError):
        acm.get_waiter("certificate_validated").wait(CertificateArn=state.arn, WaiterConfig=config)
    after = describe(acm, state.arn, state.domain, requested=state.requested)
    if problem := unusable_problem(after):
        raise GalleryError(problem)
    if not after.records:  # an issued certificate's description may omit them
        after = dataclasses.replace(after, records=state.records)
    return after
