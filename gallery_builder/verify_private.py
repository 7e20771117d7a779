"""``gallery verify`` of a private gallery (``--private``: CloudFront serves its pages only to
viewers with signed cookies; docs/https.md, "Private galleries"): an anonymous GET of the
gallery's folder and of its manifest must answer 403; with this machine's key of the gallery,
verify signs a 5-minute cookie itself (offline, like an invitation) and checks the files over
HTTP with it; without one it says that those checks were skipped."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from gallery_builder.http_fetch import Fetcher, host_port
from gallery_builder.manifest import MANIFEST_NAME
from gallery_builder.verify import LiveManifest, Report
from gallery_builder.verify_http import HttpVerifier

#: how long the cookie verify signs for itself lasts
COOKIE_MINUTES = 5
_FIX = (
    "the distribution's cache behaviour PREFIX/* must trust the gallery's key group only: run "
    "gallery publish --cdn cloudfront --private --reconfigure"
)


def key_group_of(hosting: dict[str, Any]) -> str | None:
    """The key group a private gallery's hosting record names (None: a public gallery)."""
    cdn = hosting.get("cdn")
    private = cdn.get("private") if isinstance(cdn, dict) else None
    ident = private.get("key_group_id") if isinstance(private, dict) else None
    return ident if isinstance(ident, str) and ident else None


def _cloudfront_b64(data: bytes) -> str:
    """CloudFront's base64: '+' '=' '/' written '-' '_' '~'."""
    text = base64.b64encode(data).decode("ascii")
    return text.replace("+", "-").replace("=", "_").replace("/", "~")


def signed_cookie(key_pair_id: str, private_pem: bytes, base: str, expires: datetime) -> str:
    """A ``Cookie`` header with CloudFront's three signed cookies for everything under
    ``base`` (``https://host/prefix/``) until ``expires``: a custom policy, signed RSA-SHA1
    as CloudFront checks it."""
    from botocore.signers import CloudFrontSigner
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    private = serialization.load_pem_private_key(private_pem, password=None)

    def rsa_signer(message: bytes) -> bytes:
        return private.sign(message, padding.PKCS1v15(), hashes.SHA1())  # type: ignore[union-attr,call-arg]

    signer = CloudFrontSigner(key_pair_id, rsa_signer)
    policy = signer.build_policy(base + "*", expires).encode("utf-8")
    return "; ".join(
        [
            f"CloudFront-Policy={_cloudfront_b64(policy)}",
            f"CloudFront-Signature={_cloudfront_b64(rsa_signer(policy))}",
            f"CloudFront-Key-Pair-Id={key_pair_id}",
        ]
    )


def check_refused(verifier: HttpVerifier) -> None:
    """Anonymous GETs of the gallery's folder and manifest answer 403."""
    for url in (verifier.base, verifier.url(MANIFEST_NAME)):
        answer = verifier.get(url)
        if answer is not None and answer.status != 403:
            verifier.problem(
                "private-open", url, "403 to a visitor without an invitation",
                str(answer.status), _FIX,
            )  # fmt: skip
    verifier.report.count("private_checks")


def verify_private(
    url: str,
    report: Report,
    live: LiveManifest,
    key: Any,
    *,
    sample_n: int | None = None,
    warn_days: int = 30,
) -> None:
    """The HTTP checks of the private gallery at ``url``: refused anonymously, then, with
    ``key`` (this machine's GalleryKey of it, or None), every file read with a cookie verify
    signs itself."""
    anonymous = HttpVerifier(url, report, sample_n=sample_n, warn_days=warn_days)
    host, port, scheme = host_port(anonymous.base)
    if scheme == "https" and not anonymous.check_certificate(host, port):
        return  # nothing on this host can be trusted
    check_refused(anonymous)
    group = key_group_of(live.hosting)
    if key is None or key.key_group_id != group:
        why = "has no key of it" if key is None else "holds a key of another key group"
        report.notes.append(
            f"the file checks over HTTP were skipped: {url} is private and this machine {why} "
            "(only the machine that made it private, or ran gallery invite --revoke-all, has "
            "it)"
        )
        return
    expires = datetime.now(UTC) + timedelta(minutes=COOKIE_MINUTES)
    parts = urlsplit(anonymous.base)
    base = f"https://{parts.netloc}{parts.path}"
    cookie = signed_cookie(key.public_key_id, key.private_pem, base, expires)
    signed = HttpVerifier(url, report, sample_n=sample_n, warn_days=warn_days,
                          fetcher=Fetcher(headers={"Cookie": cookie}))  # fmt: skip
    report.notes.append(f"checked with a {COOKIE_MINUTES}-minute signed cookie of key "
                        f"{key.public_key_id}")  # fmt: skip
    signed.run(expected_manifest=live.data, certificate=False)
