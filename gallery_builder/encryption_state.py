"""What OUT's build state remembers of an encrypted build, and leaving that mode.

Kept in ``state.meta["encryption"]`` (OUT/.gallery/state.sqlite, never published): the salt
(kept while the password is unchanged), a check value derived from the key (never the
password, nor a key that opens anything) to tell a changed password, and for each sealed file
``_x/<fid>`` the MD5 of the clear bytes it was sealed from, so an unchanged file keeps its
ciphertext (``state.outputs`` has the ciphertext's MD5 and size).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gallery_builder.encryption import SALT_BYTES
from gallery_builder.state import STATE_DIR, BuildState

META_KEY = "encryption"
#: the clear site of an encrypted gallery: OUT/.gallery/clear (never published)
CLEAR_SITE = "clear"
_HEX32 = re.compile(r"[0-9a-f]{32}")
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class EncryptionRecord:
    salt: bytes
    check: str
    #: fid -> the MD5 of the clear bytes ``_x/<fid>`` was sealed from
    sealed: dict[str, str] = field(default_factory=dict)


def read_record(meta: dict[str, str]) -> EncryptionRecord | None:
    """The record in ``meta``; None when there is none or it is damaged (then the next
    build takes a new salt and seals everything again)."""
    raw = meta.get(META_KEY)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        salt = base64.b64decode(data["salt"], validate=True)
        check, sealed = data["check"], data["sealed"]
    except (ValueError, TypeError, KeyError, binascii.Error, RecursionError):
        return None
    if len(salt) != SALT_BYTES or not isinstance(check, str) or not _HEX64.fullmatch(check):
        return None
    if not isinstance(sealed, dict):
        return None
    clean = {
        fid: md5
        for fid, md5 in sealed.items()
        if isinstance(md5, str) and _HEX32.fullmatch(fid) and _HEX32.fullmatch(md5)
    }
    return EncryptionRecord(salt, check, clean)


def dump_record(record: EncryptionRecord) -> str:
    """Stable text: the same record, the same bytes (a no-op build saves nothing)."""
    return json.dumps(
        {
            "salt": base64.b64encode(record.salt).decode("ascii"),
            "check": record.check,
            "sealed": dict(sorted(record.sealed.items())),
        },
        sort_keys=True,
        separators=(",", ":"),
    )


def clear_site_dir(out_dir: Path) -> Path:
    return out_dir / STATE_DIR / CLEAR_SITE


def was_encrypted(state: BuildState) -> bool:
    """Whether OUT's last build was encrypted: its state says so or, when the state holds no
    clear build (none, or a damaged one), the site's manifest does."""
    if META_KEY in state.meta:
        return True
    if state.sources:
        return False
    try:
        manifest = json.loads((state.dir.parent / "manifest.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        return False
    return isinstance(manifest, dict) and isinstance(manifest.get("encrypted"), dict)


def leave_encrypted_mode(state: BuildState) -> None:
    """Before a clear build into an encrypted OUT (``--no-encryption``): forget the keys'
    record and remove the clear copy in ``.gallery/``; the sealed files stay listed in the
    state's outputs, so the clear build removes them as stale."""
    state.meta.pop(META_KEY, None)
    clear = state.dir / CLEAR_SITE
    if clear.is_dir() and not clear.is_symlink():
        shutil.rmtree(clear, ignore_errors=True)
    elif clear.is_symlink() or clear.exists():
        clear.unlink()
