"""Credentials out of messages: a URL a user wrote (``--endpoint-url``, a target) or one a
library quotes in its error may carry them, as userinfo (``http://AKIA...:secret@host``) or
in its query (a presigned URL's ``X-Amz-Signature``, ``X-Amz-Credential``). Every message
that shows a URL shows it through :func:`redact_urls`. Pure functions.
"""

from __future__ import annotations

import re

HIDDEN = "***"
# a URL in running text: a scheme, then up to whitespace or a quote that closes it
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s\"'`<>]*")


def redact_url(url: str) -> str:
    """``url`` without its credentials: userinfo replaced by ``***``, query values too.

    Whatever stands before the last ``@`` ahead of the path's query is taken for userinfo,
    even when a raw ``/`` in a password makes the URL ambiguous: hiding too much is the
    safe side."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    head, mark, query = rest.partition("?")
    if "@" in head:
        head = f"{HIDDEN}@{head.rpartition('@')[2]}"
    if mark:
        query = "&".join(_hide_value(part) for part in query.split("&"))
    return f"{scheme}{sep}{head}{mark}{query}"


def _hide_value(parameter: str) -> str:
    name, equals, value = parameter.partition("=")
    return f"{name}={HIDDEN}" if equals and value else parameter


def userinfo(url: str) -> str:
    """The userinfo of ``url`` as written (what stands before the last ``@`` ahead of the
    query, after the scheme), or "" when it has none."""
    rest = url.partition("://")[2] if "://" in url else url
    head = rest.partition("?")[0]
    return head.rpartition("@")[0]


def redact_urls(text: str, *known: str | None) -> str:
    """``text`` with every URL in it redacted (see :func:`redact_url`). The userinfo of each
    ``known`` URL (one the user gave) is hidden wherever it appears, even where the URL is
    not recognisable as one (a password with a space in it)."""
    for url in known:
        secret = userinfo(url or "")
        if secret:
            text = text.replace(secret, HIDDEN)
    return _URL.sub(lambda match: redact_url(match[0]), text)
