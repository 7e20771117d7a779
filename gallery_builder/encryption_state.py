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
import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from gallery_builder.state import BuildState

META_KEY = "encryption"
#: where the clear sites of encrypted galleries are kept, when not in the user's cache folder
CLEAR_DIR_ENV = "GALLERY_CLEAR_DIR"
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
    from gallery_builder.encryption import SALT_BYTES  # cryptography: only when encrypted

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


def clear_cache_root() -> Path:
    """``$GALLERY_CLEAR_DIR``, else ``$XDG_CACHE_HOME/gallery-builder/clear``, else
    ``~/.cache/gallery-builder/clear``."""
    explicit = os.environ.get(CLEAR_DIR_ENV)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "gallery-builder" / "clear"


def clear_site_dir(out_dir: Path) -> Path:
    """The clear site of the encrypted gallery built into ``out_dir``: in the user's cache
    folder, named by OUT's absolute path, never inside OUT, so that copying, syncing or
    serving OUT with another tool (rsync, ``aws s3 sync``, a web server) never carries the
    readable gallery with it."""
    key = hashlib.sha256(str(out_dir.resolve()).encode("utf-8", "surrogateescape")).hexdigest()
    return clear_cache_root() / key[:24]


def make_clear_site_dir(out_dir: Path) -> Path:
    """:func:`clear_site_dir`, made if missing: only its owner may open it (0700)."""
    folder = clear_site_dir(out_dir)
    folder.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


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
    record and remove its clear copy (:func:`clear_site_dir`); the sealed files stay listed in
    the state's outputs, so the clear build removes them as stale."""
    state.meta.pop(META_KEY, None)
    clear = clear_site_dir(state.dir.parent)
    if clear.is_dir() and not clear.is_symlink():
        shutil.rmtree(clear, ignore_errors=True)
    elif clear.is_symlink() or clear.exists():
        clear.unlink()
