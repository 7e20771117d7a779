"""``--domain`` in the order the set-up needs it, for the CloudFront set-up to call.

1. :func:`prepare_domain`, BEFORE any distribution is created or changed: the certificate
   (found or requested in us-east-1), its validation CNAMEs written when the domain's zone is
   in Route 53, a check that nothing of someone else's stands at the domain, and a wait with
   ``--wait``. It returns only when the certificate is ISSUED; otherwise it raises
   :class:`DomainPending` (the records to add, and to run the command again), and nothing
   half-made is left: a distribution can only take the alias once the certificate is issued.
2. The caller creates or updates the distribution with ``setup.certificate.arn`` and the alias.
3. :func:`point_domain`: the A/AAAA aliases in Route 53, or the record to add at the user's DNS
   host, as notes.

:func:`plan_domain` says, read-only, what these would do (``--dry-run``).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from gallery_builder.plugins.certificate_choice import CertificateState, unusable_problem
from gallery_builder.plugins.cloudfront_certificate import (
    WAIT_ATTEMPTS,
    check_region,
    describe,
    ensure_certificate,
    find_certificate,
    wait_for_certificate,
)
from gallery_builder.plugins.cloudfront_domain import (
    CERTIFICATE_REGION,
    ISSUED,
    PENDING,
    DomainPending,
    checked_domain,
    pending_message,
    point_instructions,
)
from gallery_builder.plugins.route53_changes import (
    HostedZone,
    alias_state,
    distribution_host,
    takeover_refused,
)
from gallery_builder.plugins.route53_records import (
    find_zone,
    record_sets_at,
    write_alias_records,
    write_validation_records,
)

__all__ = [
    "DomainPending",
    "DomainSetup",
    "DomainSteps",
    "plan_domain",
    "point_domain",
    "prepare_domain",
]


@dataclasses.dataclass(frozen=True)
class DomainSetup:
    """A domain ready for the distribution: its certificate is ISSUED."""

    domain: str
    certificate: CertificateState
    #: the public Route 53 zone holding the domain, or None (its DNS is elsewhere)
    zone: HostedZone | None
    #: what was done, for the user
    notes: tuple[str, ...] = ()

    @property
    def certificate_arn(self) -> str:
        return self.certificate.arn


def prepare_domain(
    acm: Any,
    route53: Any,
    domain: str,
    *,
    wait: bool = False,
    distribution_domain: str | None = None,
    delay: float | None = None,
    attempts: int = WAIT_ATTEMPTS,
    command: str = "gallery publish ... --domain",
) -> DomainSetup:
    """Everything ``domain`` needs before a distribution may carry it (see the module).

    ``distribution_domain``: the gallery's existing distribution (``dxxxx.cloudfront.net``),
    if there is one; an alias of the domain to any other distribution is refused. With
    ``wait``, a pending certificate is waited for (``attempts`` polls, 60 by default,
    ``delay`` or ``GALLERY_CERTIFICATE_WAIT_DELAY`` or 15 s apart) when its records can be
    visible: written into Route 53 now, or the certificate was requested by an earlier run
    (the user had the records to add). Raises :class:`DomainPending` while it is not issued.
    """
    domain = checked_domain(domain)
    check_region(acm)
    zone = find_zone(route53, domain)
    if zone is not None:  # someone else's DNS at the domain: stop before anything is made
        problem, _ = alias_state(
            record_sets_at(route53, zone.id, domain), domain, distribution_domain
        )
        if problem:
            raise takeover_refused(problem, zone)
    state = ensure_certificate(acm, domain, wait=False)
    notes: list[str] = []
    if state.requested:
        notes.append(f"requested certificate {state.arn} for {domain} in ACM {CERTIFICATE_REGION}")
    if zone is not None and state.records:
        # also for an issued certificate: ACM renews through these records
        write_validation_records(route53, zone.id, state.records, zone_name=zone.name)
        if not state.issued:
            notes.append(
                f"wrote the certificate's validation record(s) into Route 53 zone {zone.name}"
            )
    waited = None
    if state.status == PENDING and wait and (zone is not None or not state.requested):
        started = time.monotonic()
        state = wait_for_certificate(acm, state, delay=delay, attempts=attempts)
        waited = time.monotonic() - started
    if state.status != ISSUED:
        raise DomainPending(
            pending_message(
                state,
                zone=zone,
                distribution_domain=distribution_domain,
                command=command,
                waited=waited,
            ),
            domain=domain,
            records=state.records,
        )
    return DomainSetup(domain=domain, certificate=state, zone=zone, notes=tuple(notes))


def point_domain(route53: Any, setup: DomainSetup, distribution_domain: str) -> list[str]:
    """Point the domain at the distribution (after it exists with the alias): A and AAAA
    aliases in the Route 53 zone, or, when the DNS is elsewhere, a note with the record to
    add there. Returns notes for the user."""
    target = distribution_host(distribution_domain)
    if setup.zone is None:
        return [
            f"{setup.domain} is not in Route 53: at your DNS host add "
            + point_instructions(setup.domain, target)
        ]
    written = write_alias_records(
        route53, setup.zone.id, setup.domain, target, zone_name=setup.zone.name
    )
    if not written:
        return [f"{setup.domain} already points at {target} (Route 53 zone {setup.zone.name})"]
    return [
        f"{setup.domain} -> {target}: A and AAAA alias records written in Route 53 zone "
        f"{setup.zone.name}"
    ]


def plan_domain(
    acm: Any, route53: Any, domain: str, *, distribution_domain: str | None = None
) -> list[str]:
    """What :func:`prepare_domain` and :func:`point_domain` would do, one line each, for
    ``--dry-run``; only read requests (list and describe certificates, list zones and the
    record sets at the domain)."""
    domain = checked_domain(domain)
    check_region(acm)
    lines: list[str] = []
    arn = find_certificate(acm, domain)
    state = describe(acm, arn, domain) if arn else None
    if state is None:
        lines.append(
            f"certificate: request one for {domain} in ACM {CERTIFICATE_REGION} (DNS validation)"
        )
    elif problem := unusable_problem(state):
        lines.append(f"certificate: cannot be used: {problem}")
    else:
        until = f", valid until {state.not_after:%Y-%m-%d}" if state.not_after else ""
        lines.append(f"certificate: reuse {state.arn} for {domain} ({state.status}{until})")
    records = state.records if state else ()
    zone = find_zone(route53, domain)
    target = distribution_domain or "the distribution"
    if zone is None:
        shown = "; ".join(str(r) for r in records) or "the CNAME ACM gives"
        lines.append(
            f"DNS: {domain} is not in a Route 53 hosted zone of this account: "
            + (
                "nothing to write"
                if state is not None and state.issued
                else f"the publish prints the record(s) to add at your DNS host ({shown}) "
                "and stops until ACM has issued the certificate"
            )
        )
        lines.append(
            f"DNS: then add at your DNS host {point_instructions(domain, distribution_domain)}"
        )
        return lines
    where = f"Route 53 zone {zone.name} ({zone.id})"
    if records:
        lines.extend(f"DNS: UPSERT validation {r} in {where}" for r in records)
    else:
        lines.append(f"DNS: UPSERT the certificate's validation CNAME in {where}")
    problem, up_to_date = alias_state(
        record_sets_at(route53, zone.id, domain), domain, distribution_domain
    )
    if problem:
        lines.append(f"DNS: refused: {problem} in {where}; the publish would stop")
    elif up_to_date:
        lines.append(f"DNS: {domain} already aliases to {target} in {where}")
    else:
        lines.append(f"DNS: UPSERT A and AAAA alias {domain} -> {target} in {where}")
    return lines


class DomainSteps:
    """The ``--domain`` steps in the shape the CloudFront set-up takes them: made once per
    publish from an object whose ``acm`` (us-east-1) and ``route53`` attributes are the
    clients (read only when a step runs, so lazily made clients stay unmade without a domain).

    - :meth:`certificate_for` before any CloudFront write: the issued certificate's ARN, or
      :class:`DomainPending`;
    - :meth:`point` once the distribution carries the alias: notes for the user;
    - :meth:`plan` for ``--dry-run``.
    """

    def __init__(self, clients: Any, *, wait: bool = False, delay: float | None = None) -> None:
        self.clients, self.wait, self.delay = clients, wait, delay
        #: what :meth:`certificate_for` prepared
        self.setup: DomainSetup | None = None

    def certificate_for(self, domain: str, distribution_domain: str | None = None) -> str:
        """The ARN of the ISSUED certificate for ``domain`` (see :func:`prepare_domain`;
        ``distribution_domain``: the bucket's distribution, if it exists already)."""
        self.setup = prepare_domain(
            self.clients.acm,
            self.clients.route53,
            domain,
            wait=self.wait,
            distribution_domain=distribution_domain,
            delay=self.delay,
        )
        return self.setup.certificate_arn

    def point(self, domain: str, distribution_domain: str) -> list[str]:
        """Point ``domain`` at the distribution (see :func:`point_domain`); the notes of the
        certificate step come first."""
        setup = self.setup
        if setup is None or setup.domain != checked_domain(domain):
            setup = self.setup = prepare_domain(
                self.clients.acm,
                self.clients.route53,
                domain,
                distribution_domain=distribution_domain,
            )
        return [*setup.notes, *point_domain(self.clients.route53, setup, distribution_domain)]

    def plan(self, domain: str, distribution_domain: str | None = None) -> list[str]:
        """What the steps would do (see :func:`plan_domain`)."""
        return plan_domain(
            self.clients.acm,
            self.clients.route53,
            domain,
            distribution_domain=distribution_domain,
        )
