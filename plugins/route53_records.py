"""Route 53 for a gallery's ``--domain``: the hosted zone that holds the domain, the
certificate's validation CNAMEs, and the A/AAAA aliases to the CloudFront distribution.

Records are only ever UPSERTed, never deleted: the validation CNAMEs stay (ACM renews the
certificate through them), and an alias is written only where nothing of someone else's
stands (a CNAME, a plain A/AAAA record, an alias to anything but this distribution).

What moto 5.2.5 does differently from Route 53 (HOSTING.md §2): it accepts a CNAME beside an
A record and an ``AliasTarget`` with any zone id, ignores ``MaxItems`` when listing zones, and
answers ``list_hosted_zones_by_name(DNSName=...)`` with that name only (Route 53: the zones
from that name on). So zones are listed from the start and paged by
``NextDNSName``/``NextHostedZoneId``, and the checks on what stands at the domain are made
here, not left to Route 53.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from gallery_builder.plugins.cloudfront_domain import (
    ValidationRecord,
    aws_error,
    checked_domain,
    within,
)
from gallery_builder.plugins.route53_changes import (
    HostedZone,
    alias_changes,
    alias_state,
    distribution_host,
    records_at,
    takeover_refused,
    validation_changes,
    zone_choice,
)

from gallery_builder.errors import GalleryError

#: pages of hosted zones read at most (100 zones a page): a guard against an endpoint that
#: always says "truncated"
MAX_ZONE_PAGES = 1000
#: record sets read per page at the domain's name
RECORDS_PAGE = "100"


@contextlib.contextmanager
def route53_errors(route53: Any) -> Iterator[None]:
    """botocore's errors from ``route53`` as :class:`GalleryError` s that say what to do."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, route53.meta.endpoint_url, "route53") from None


def hosted_zones(route53: Any) -> list[Any]:
    """Every hosted zone of the account, as ``list_hosted_zones_by_name`` lists them."""
    zones: list[Any] = []
    kwargs: dict[str, str] = {}
    with route53_errors(route53):
        for _ in range(MAX_ZONE_PAGES):
            page = route53.list_hosted_zones_by_name(**kwargs)
            found = page.get("HostedZones") if isinstance(page, dict) else None
            zones.extend(found if isinstance(found, list) else [])
            next_name, next_id = page.get("NextDNSName"), page.get("NextHostedZoneId")
            if not page.get("IsTruncated") or not next_name or not next_id:
                return zones
            kwargs = {"DNSName": next_name, "HostedZoneId": next_id}
    raise GalleryError(f"Route 53 listed more than {MAX_ZONE_PAGES} pages of hosted zones")


def find_zone(route53: Any, domain: str) -> HostedZone | None:
    """The public hosted zone with the longest name that contains ``domain``, or None."""
    domain = checked_domain(domain)  # before any request
    return zone_choice(hosted_zones(route53), domain)


def zone_for(route53: Any, domain: str) -> str | None:
    """The id of the public hosted zone with the longest name containing ``domain``, or None
    (the domain's DNS is elsewhere). Private zones are ignored."""
    zone = find_zone(route53, domain)
    return zone.id if zone else None


def record_sets_at(route53: Any, zone_id: str, domain: str) -> list[dict[str, Any]]:
    """The record sets of zone ``zone_id`` named exactly ``domain`` (all types)."""
    found: list[dict[str, Any]] = []
    kwargs: dict[str, str] = {"StartRecordName": domain}
    with route53_errors(route53):
        for _ in range(50):  # 5,000 record sets of one name: more is not a real zone
            page = route53.list_resource_record_sets(
                HostedZoneId=zone_id, MaxItems=RECORDS_PAGE, **kwargs
            )
            rrsets = page.get("ResourceRecordSets") if isinstance(page, dict) else None
            rrsets = rrsets if isinstance(rrsets, list) else []
            here = records_at(rrsets, domain)
            found.extend(here)
            next_name, next_type = page.get("NextRecordName"), page.get("NextRecordType")
            next_id = page.get("NextRecordIdentifier")
            if (
                not page.get("IsTruncated")
                or len(here) < len(rrsets)  # the listing went past the name
                or not isinstance(next_name, str)
                or not isinstance(next_type, str)
                or next_name.rstrip(".").lower() != domain
            ):
                break
            kwargs = {"StartRecordName": next_name, "StartRecordType": next_type}
            if isinstance(next_id, str) and next_id:
                kwargs["StartRecordIdentifier"] = next_id
    return found


def _change(route53: Any, zone_id: str, changes: list[dict[str, Any]], comment: str) -> str:
    with route53_errors(route53):
        answer = route53.change_resource_record_sets(
            HostedZoneId=zone_id, ChangeBatch={"Comment": comment, "Changes": changes}
        )
    info = answer.get("ChangeInfo") if isinstance(answer, dict) else None
    change_id = info.get("Id") if isinstance(info, dict) else None
    if not isinstance(change_id, str):
        raise GalleryError("Route 53 answered a record change without a ChangeInfo Id")
    return change_id


def write_validation_records(
    route53: Any, zone_id: str, records: Iterable[ValidationRecord], *, zone_name: str | None = None
) -> str | None:
    """UPSERT the certificate's validation CNAMEs (one per name, TTL 300) into the zone; they
    stay there for ACM's renewals. Returns the change id, or None when there is nothing to
    write. A record outside ``zone_name`` (when given) is refused before any request."""
    changes = validation_changes(records)
    if not changes:
        return None
    if zone_name is not None:
        for change in changes:
            name = change["ResourceRecordSet"]["Name"]
            if not within(name, zone_name):
                raise GalleryError(f"validation record {name} is not in zone {zone_name}")
    return _change(route53, zone_id, changes, "gallery-builder: ACM DNS validation")


def write_alias_records(
    route53: Any,
    zone_id: str,
    domain: str,
    distribution_domain: str,
    *,
    zone_name: str | None = None,
) -> bool:
    """Point ``domain`` at the distribution: UPSERT A and AAAA aliases (CloudFront's zone
    ``Z2FDTNDATAQYW2``, EvaluateTargetHealth False). Returns False, writing nothing, when both
    already point there.

    The record sets at the name are read first: a CNAME, a plain A/AAAA record, an alias to
    anything but a CloudFront distribution, or to another distribution, is someone else's DNS
    and is refused (a GalleryError), unchanged.
    """
    domain = checked_domain(domain)
    target = distribution_host(distribution_domain)
    existing = record_sets_at(route53, zone_id, domain)
    problem, up_to_date = alias_state(existing, domain, target)
    if problem:
        raise takeover_refused(problem, HostedZone(id=zone_id, name=zone_name or "?"))
    if up_to_date:
        return False
    _change(route53, zone_id, alias_changes(domain, target), "gallery-builder: CloudFront alias")
    return True
