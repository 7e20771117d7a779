"""``gallery publish --repair``: the files a plan keeps (the live manifest lists them as they
should be) are checked against what the store really holds, and each one missing or damaged
is sent again. A plan, in, a plan out: nothing extra is deleted."""

from __future__ import annotations

from typing import Any

from gallery_builder.plan import PublishPlan, Upload, _page_order
from gallery_builder.verify_store import damaged

#: the reason of an upload that puts back a missing or damaged file
REPAIR_REASON = "repair: missing or damaged"


def with_repairs(
    plan: PublishPlan, publisher: Any, prefix: str, local_files: dict[str, dict[str, Any]]
) -> PublishPlan:
    """``plan`` plus an upload of each kept file the store does not hold as the manifest
    says (the store is asked once: on S3 one listing and a HEAD per file); a file whose
    bytes are right but headers wrong is re-tagged in place."""
    kept = {path: local_files[path] for path in plan.kept}
    broken = damaged(publisher, prefix, kept)
    if not broken:
        return plan
    uploads = list(plan.uploads)
    for path, bytes_ok in sorted(broken.items()):
        entry = local_files[path]
        if bytes_ok:
            uploads.append(Upload(path, "new headers", entry, entry["md5"]))
        else:
            uploads.append(Upload(path, REPAIR_REASON, entry))
    return PublishPlan(
        tuple(sorted(uploads, key=_page_order)),
        plan.deletes,
        tuple(path for path in plan.kept if path not in broken),
    )
