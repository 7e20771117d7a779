"""What one publish did (or, with ``--dry-run``, would do): the driver's answer, the CLI's
summary, and what ``gallery_after_publish`` is given. Public as
``gallery_builder.publisher.PublishResult``."""

from __future__ import annotations

from dataclasses import dataclass, field

from gallery_builder.plan import PublishPlan


@dataclass
class PublishResult:
    plan: PublishPlan
    prefix: str
    location: str
    committed: bool = False
    uploaded: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)  #: already there from an interrupted run
    deleted: list[str] = field(default_factory=list)
    #: what the hosting set-up would create or change (``--dry-run``, from ``plan_hosting``)
    hosting_plan: list[str] = field(default_factory=list)
    #: the paths a CDN would invalidate after the commit (``--dry-run``)
    invalidations: list[str] = field(default_factory=list)
    #: what the hosting setup skipped, for the user to do by other means (printed as warnings)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if not self.committed:
            return f"{self.location}: up to date, nothing sent"
        return (
            f"{self.location}: {len(self.uploaded)} uploaded, {len(self.deleted)} deleted, "
            f"{len(self.plan.kept)} unchanged"
        )
