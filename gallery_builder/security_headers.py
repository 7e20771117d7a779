"""The security headers a gallery is served with: by CloudFront (its response-headers policy
is built from these constants) and by ``gallery serve`` (so the browser tests run under the
same policy the CDN sends).

The content security policy fits the built-in themes, checked against their templates and
static files:

- every script is a same-origin file (``viewer.js``), none inline: ``script-src 'self'``;
- stylesheets are same-origin files, and album pages set ``style="--thumb-ratio: ..."``
  attributes: ``style-src 'self' 'unsafe-inline'`` (inline styles cannot run code);
- pictures, thumbnails and the SVG favicon are files of the gallery, no ``data:`` URL:
  ``img-src 'self'``; fonts, media (a future video) and requests fall back to
  ``default-src 'self'``;
- no plugins, no ``<base>``, no forms, and no page may frame a gallery.

A theme that needs more (an inline script, a font or map from another site) breaks under it:
docs/themes.md says what a theme author must respect.
"""

from __future__ import annotations

#: the policy, directive by directive (joined into :data:`CONTENT_SECURITY_POLICY`)
CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
}
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in CSP_DIRECTIVES.items())

#: Strict-Transport-Security's max-age: two years (no includeSubDomains, no preload: those
#: bind the user's other hosts and cannot be taken back quickly)
HSTS_MAX_AGE = 63072000
STRICT_TRANSPORT_SECURITY = f"max-age={HSTS_MAX_AGE}"
REFERRER_POLICY = "strict-origin-when-cross-origin"
FRAME_OPTIONS = "DENY"
CONTENT_TYPE_OPTIONS = "nosniff"


def security_headers(https: bool) -> dict[str, str]:
    """The headers every response carries; Strict-Transport-Security only over HTTPS (a
    browser ignores it over plain HTTP, and ``gallery serve`` is plain HTTP)."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": CONTENT_TYPE_OPTIONS,
        "X-Frame-Options": FRAME_OPTIONS,
        "Referrer-Policy": REFERRER_POLICY,
    }
    if https:
        headers["Strict-Transport-Security"] = STRICT_TRANSPORT_SECURITY
    return headers
