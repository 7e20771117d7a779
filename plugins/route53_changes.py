"""Route 53 for a ``--domain``, the pure part: which hosted zone holds the domain, the record
changes to send, and whether what stands at the domain is someone else's (see
``cloudfront_domain``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from gallery_builder.plugins.cloudfront_domain import (
    CLOUDFRONT_ZONE_ID,
    VALIDATION_TTL,
    ValidationRecord,
    domain_problem,
    within,
)

from gallery_builder.errors import GalleryError


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclasses.dataclass(frozen=True)
class HostedZone:
    """A public Route 53 hosted zone: its id (without ``/hostedzone/``) and name (no dot)."""

    id: str
    name: str


def zone_choice(zones: Iterable[Any], domain: str) -> HostedZone | None:
    """The public zone among ``list_hosted_zones_by_name`` entries with the longest name that
    contains ``domain``; private zones are ignored. Two public zones of that name: an error
    (which one the registrar delegates to cannot be told from the API)."""
    best: list[HostedZone] = []
    for zone in zones:
        if not isinstance(zone, dict):
            continue
        zone_id, name, config = zone.get("Id"), zone.get("Name"), zone.get("Config")
        if not isinstance(zone_id, str) or not isinstance(name, str) or not zone_id:
            continue
        if isinstance(config, dict) and config.get("PrivateZone") is not False:
            continue  # private (or of unknown kind): not what the world resolves
        name = name.rstrip(".").lower()
        if not within(domain, name):
            continue
        found = HostedZone(id=zone_id.rsplit("/", 1)[-1], name=name)
        if not best or len(name) > len(best[0].name):
            best = [found]
        elif len(name) == len(best[0].name):
            best.append(found)
    if len(best) > 1:
        ids = ", ".join(z.id for z in best)
        raise GalleryError(
            f"this AWS account has {len(best)} public Route 53 hosted zones named "
            f"{best[0].name} ({ids}); gallery-builder cannot tell which one the domain is "
            "delegated to: delete the unused one (compare its NS records with the registrar's)"
        )
    return best[0] if best else None


def validation_changes(records: Iterable[ValidationRecord]) -> list[dict[str, Any]]:
    """The UPSERT changes for the validation CNAMEs, one per record name."""
    unique: dict[str, ValidationRecord] = {}
    for record in records:
        unique.setdefault(record.name.lower(), record)
    return [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": record.name,
                "Type": record.type,
                "TTL": VALIDATION_TTL,
                "ResourceRecords": [{"Value": record.value}],
            },
        }
        for record in unique.values()
    ]


def alias_changes(domain: str, distribution_domain: str) -> list[dict[str, Any]]:
    """The UPSERT changes for the A and AAAA aliases of ``domain`` to the distribution."""
    return [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": domain,
                "Type": kind,
                "AliasTarget": {
                    "HostedZoneId": CLOUDFRONT_ZONE_ID,
                    "DNSName": distribution_domain,
                    "EvaluateTargetHealth": False,
                },
            },
        }
        for kind in ("A", "AAAA")
    ]


def distribution_host(name: str) -> str:
    """``name`` (a distribution's ``dxxxx.cloudfront.net``), checked, lower-case, no dot."""
    host = name.rstrip(".").lower() if isinstance(name, str) else ""
    if not host.endswith(".cloudfront.net") or domain_problem(host):
        raise GalleryError(f"{name!r} is not a CloudFront distribution's domain name")
    return host


def records_at(record_sets: Iterable[Any], domain: str) -> list[dict[str, Any]]:
    """The record sets in a ``list_resource_record_sets`` answer named exactly ``domain``."""
    return [
        rrset
        for rrset in record_sets
        if isinstance(rrset, dict)
        and isinstance(rrset.get("Name"), str)
        and rrset["Name"].rstrip(".").lower() == domain
    ]


def alias_state(
    record_sets: Iterable[Any], domain: str, distribution_domain: str | None
) -> tuple[str | None, bool]:
    """What stands at ``domain`` in its zone, as ``(problem, up_to_date)``.

    ``problem`` (the domain is someone else's: gallery-builder must not take it over) when a
    CNAME stands there, an A/AAAA record that is not an alias, an alias to anything but a
    CloudFront distribution, or an alias to a distribution other than
    ``distribution_domain`` (None: the gallery's distribution does not exist yet, so any is
    another). ``up_to_date`` when A and AAAA both alias to ``distribution_domain`` already.
    """
    target = distribution_domain.rstrip(".").lower() if distribution_domain else None
    ours: set[str] = set()
    for rrset in records_at(record_sets, domain):
        kind = rrset.get("Type")
        if kind not in ("A", "AAAA", "CNAME"):
            continue  # MX, TXT, CAA... live beside an alias
        alias = rrset.get("AliasTarget")
        values = [
            r.get("Value", "?") for r in _list(rrset.get("ResourceRecords")) if isinstance(r, dict)
        ]
        shown = ", ".join(str(v) for v in values[:3]) or "?"
        if kind == "CNAME" or not isinstance(alias, dict):
            return (f"{domain} already has a {kind} record (-> {shown})", False)
        alias_zone = alias.get("HostedZoneId")
        alias_name = alias.get("DNSName")
        alias_name = alias_name.rstrip(".").lower() if isinstance(alias_name, str) else "?"
        if alias_zone != CLOUDFRONT_ZONE_ID or not alias_name.endswith(".cloudfront.net"):
            return (f"{domain} already has an {kind} alias to {alias_name}", False)
        if rrset.get("SetIdentifier") is not None:
            return (f"{domain} has a {kind} record with a routing policy", False)
        if alias_name != target:
            return (
                f"{domain} already has an {kind} alias to {alias_name}, another CloudFront "
                "distribution",
                False,
            )
        ours.add(kind)
    return None, ours == {"A", "AAAA"}


def takeover_refused(problem: str, zone: HostedZone) -> GalleryError:
    """The error for a domain whose DNS is someone else's (see :func:`alias_state`)."""
    return GalleryError(
        f"{problem} in Route 53 zone {zone.name} ({zone.id}); gallery-builder does not "
        "replace DNS records it did not write: delete that record (or choose another "
        "--domain) and run the command again"
    )
