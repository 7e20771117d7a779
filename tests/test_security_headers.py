"""The security headers (gallery_builder.security_headers): what the CDN's response-headers
policy and ``gallery serve`` send. That the built-in themes work under the policy is what the
browser tests show (tests/test_browser.py fails on any CSP violation)."""

from __future__ import annotations

from gallery_builder.security_headers import (
    CONTENT_SECURITY_POLICY,
    CSP_DIRECTIVES,
    FRAME_OPTIONS,
    HSTS_MAX_AGE,
    REFERRER_POLICY,
    security_headers,
)


def test_the_policy_allows_only_the_gallerys_own_files_and_no_inline_script() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    parsed = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert parsed == CSP_DIRECTIVES
    assert "unsafe-inline" not in parsed["script-src"] and "unsafe-eval" not in parsed["script-src"]
    assert all(source in ("'self'", "'none'", "'unsafe-inline'")
               for value in parsed.values() for source in value.split())  # fmt: skip


def test_https_answers_add_hsts_and_plain_http_ones_do_not() -> None:
    common = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    assert security_headers(https=False) == common
    assert security_headers(https=True) == common | {
        "Strict-Transport-Security": "max-age=63072000"
    }
    assert HSTS_MAX_AGE == 63072000  # two years, in seconds
    assert (FRAME_OPTIONS, REFERRER_POLICY) == ("DENY", "strict-origin-when-cross-origin")


def test_each_call_is_a_new_dict() -> None:
    first = security_headers(https=True)
    first["X-Frame-Options"] = "SAMEORIGIN"
    assert security_headers(https=True)["X-Frame-Options"] == "DENY"
