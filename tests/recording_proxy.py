"""A recording HTTP proxy in front of the moto server, for what moto accepts but does not
keep, or does not implement at all.

Every request that passes (method, path, query, headers, the whole body) is recorded, so a
test asserts on what the client SENT (moto drops a distribution's OriginAccessControlId,
S3OriginConfig and FunctionAssociations when it is read back). Chosen operations are answered
by the proxy itself, with the response shapes AWS documents (API reference, CloudFront
2020-05-31), for the calls moto 5.2.5 lacks: PublishFunction, UpdateFunction, and the cache
and response-headers policies (:class:`CloudFrontStandIns`, which keeps what was created so a
later list finds it). ``fail(...)`` makes one operation answer an AWS error.

No patching: the client under test talks HTTP to this proxy on 127.0.0.1 like to AWS.
"""

from __future__ import annotations

import dataclasses
import http.client
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qsl, unquote, urlsplit

CF = "/2020-05-31/"
NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"}


@dataclasses.dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0

    @property
    def service(self) -> str:
        if self.path.startswith(CF):
            return "cloudfront"
        if self.path.startswith("/2013-04-01/"):
            return "route53"
        if self.headers.get("x-amz-target", "").startswith("CertificateManager"):
            return "acm"
        return "s3"

    def xml(self) -> ET.Element:
        """The body as XML, namespaces stripped."""
        root = ET.fromstring(self.body)
        for node in root.iter():
            node.tag = node.tag.split("}", 1)[-1]
        return root

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" if v else k for k, v in self.query.items())
        return f"{self.method} {self.path}{'?' + query if query else ''} -> {self.status}"


Answer = tuple[int, dict[str, str], bytes]
#: a responder answering None lets the request through to moto
Responder = Callable[[Recorded, re.Match[str]], Answer | None]


def error_answer(status: int, code: str, message: str) -> Answer:
    body = (
        f'<?xml version="1.0"?><ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>recording-proxy</RequestId></ErrorResponse>"
    ).encode()
    return status, {"Content-Type": "text/xml"}, body


class RecordingProxy:
    """``with RecordingProxy(moto.endpoint) as proxy:`` then use ``proxy.url`` as the
    endpoint; ``proxy.requests`` is everything sent, in order."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.requests: list[Recorded] = []
        self._routes: list[tuple[str, re.Pattern[str], Responder, str | None]] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                proxy._handle(self)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # --- what to answer ---------------------------------------------------------------------

    def answer(
        self, method: str, path: str, responder: Responder, *, query: str | None = None
    ) -> None:
        """Answer ``method`` on paths matching the regex ``path`` (full match; with ``query``,
        only requests with that query parameter) with ``responder`` instead of moto; the
        latest route wins."""
        with self._lock:
            self._routes.insert(0, (method, re.compile(path), responder, query))

    def fail(
        self, method: str, path: str, status: int, code: str, message: str = "",
        *, query: str | None = None,
    ) -> None:  # fmt: skip
        self.answer(method, path, lambda r, m: error_answer(status, code, message or code),
                    query=query)  # fmt: skip

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def since(self, mark: int) -> list[Recorded]:
        with self._lock:
            return list(self.requests[mark:])

    def mark(self) -> int:
        with self._lock:
            return len(self.requests)

    # --- the proxying -----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        target = urlsplit(handler.path)
        request = Recorded(
            method=handler.command,
            path=unquote(target.path),
            query=dict(parse_qsl(target.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(request)
            routes = list(self._routes)
        answer: Answer | None = None
        for method, pattern, responder, query in routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match and (query is None or query in request.query):
                answer = responder(request, match)
                break
        status, headers, data = answer or self._forward(handler, body)
        request.status = status
        handler.send_response(status)
        for name, value in headers.items():
            if name.lower() not in _HOP and name.lower() != "content-length":
                handler.send_header(name, value)
        # a HEAD's answer has no body but the length of the object it describes
        given = {k.lower(): v for k, v in headers.items()}.get("content-length")
        head = handler.command == "HEAD" and given is not None
        handler.send_header("Content-Length", given if head else str(len(data)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(data)

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> Answer:
        conn = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP}
            conn.request(handler.command, handler.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, dict(response.getheaders()), data
        finally:
            conn.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> RecordingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- what moto 5.2.5 does not implement, answered as AWS documents it ---------------------------


def _inner(body: bytes) -> str:
    """The request's XML without its declaration, to echo inside an answer."""
    return re.sub(rb"^<\?xml[^>]*\?>", b"", body.strip()).decode()


class CloudFrontStandIns:
    """Stateful answers for PublishFunction, UpdateFunction, and Create/List/Get/Update of
    cache and response-headers policies (AWS's response shapes)."""

    KINDS: ClassVar[dict[str, tuple[str, str, str]]] = {
        "cache-policy": ("CachePolicy", "CachePolicyList", "CachePolicySummary"),
        "response-headers-policy": (
            "ResponseHeadersPolicy",
            "ResponseHeadersPolicyList",
            "ResponseHeadersPolicySummary",
        ),
    }

    def __init__(self, proxy: RecordingProxy, account: str = "123456789012") -> None:
        self.account = account
        #: kind -> id -> (config XML, etag)
        self.policies: dict[str, dict[str, tuple[str, str]]] = {k: {} for k in self.KINDS}
        self.published: list[tuple[str, str]] = []  #: (function name, IfMatch)
        self.updated_etags: list[str] = []  #: what each UpdateFunction answered
        for kind in self.KINDS:
            proxy.answer("POST", f"{CF}{kind}", self._create)
            proxy.answer("GET", f"{CF}{kind}", self._list)
            proxy.answer("GET", f"{CF}({kind})/([^/]+)", self._get)
            proxy.answer("PUT", f"{CF}({kind})/([^/]+)", self._update)
        proxy.answer("POST", f"{CF}function/([^/]+)/publish", self._publish)
        proxy.answer("PUT", f"{CF}function/([^/]+)", self._update_function)

    @staticmethod
    def _kind(request: Recorded) -> str:
        return request.path[len(CF) :].split("/", 1)[0]

    def _policy(self, kind: str, ident: str) -> str:
        element = self.KINDS[kind][0]
        config = self.policies[kind][ident][0]
        return (f"<{element}><Id>{ident}</Id><LastModifiedTime>2026-12-02T00:00:00Z"
                f"</LastModifiedTime>{config}</{element}>")  # fmt: skip

    def _create(self, request: Recorded, match: re.Match[str]) -> Answer:
        kind = self._kind(request)
        ident, etag = str(uuid.uuid4()), uuid.uuid4().hex[:13].upper()
        self.policies[kind][ident] = (_inner(request.body), etag)
        body = f'<?xml version="1.0"?>{self._policy(kind, ident)}'.encode()
        location = f"https://cloudfront.amazonaws.com{CF}{kind}/{ident}"
        return 201, {"ETag": etag, "Location": location, "Content-Type": "text/xml"}, body

    def _list(self, request: Recorded, match: re.Match[str]) -> Answer:
        kind = self._kind(request)
        _, listing, summary = self.KINDS[kind]
        items = "".join(f"<{summary}><Type>custom</Type>{self._policy(kind, i)}</{summary}>"
                        for i in self.policies[kind])  # fmt: skip
        body = (f'<?xml version="1.0"?><{listing} xmlns="{NS}"><MaxItems>100</MaxItems>'
                f"<Quantity>{len(self.policies[kind])}</Quantity><Items>{items}</Items>"
                f"</{listing}>").encode()  # fmt: skip
        return 200, {"Content-Type": "text/xml"}, body

    def _get(self, request: Recorded, match: re.Match[str]) -> Answer:
        kind, ident = match[1], match[2]
        if ident not in self.policies[kind]:
            return error_answer(404, "NoSuch" + self.KINDS[kind][0], "not found")
        body = f'<?xml version="1.0"?>{self._policy(kind, ident)}'.encode()
        return 200, {"ETag": self.policies[kind][ident][1], "Content-Type": "text/xml"}, body

    def _update(self, request: Recorded, match: re.Match[str]) -> Answer:
        kind, ident = match[1], match[2]
        if request.headers.get("if-match") != self.policies[kind].get(ident, ("", ""))[1]:
            return error_answer(412, "PreconditionFailed", "stale ETag")
        etag = uuid.uuid4().hex[:13].upper()
        self.policies[kind][ident] = (_inner(request.body), etag)
        body = f'<?xml version="1.0"?>{self._policy(kind, ident)}'.encode()
        return 200, {"ETag": etag, "Content-Type": "text/xml"}, body

    def _summary(self, name: str, stage: str) -> str:
        arn = f"arn:aws:cloudfront::{self.account}:function/{name}"
        return (f'<FunctionSummary xmlns="{NS}"><Name>{name}</Name><Status>UNASSOCIATED'
                "</Status><FunctionConfig><Comment>c</Comment><Runtime>cloudfront-js-2.0"
                f"</Runtime></FunctionConfig><FunctionMetadata><FunctionARN>{arn}</FunctionARN>"
                f"<Stage>{stage}</Stage><CreatedTime>2026-12-02T00:00:00Z</CreatedTime>"
                "<LastModifiedTime>2026-12-02T00:00:00Z</LastModifiedTime></FunctionMetadata>"
                "</FunctionSummary>")  # fmt: skip

    def _publish(self, request: Recorded, match: re.Match[str]) -> Answer:
        self.published.append((match[1], request.headers.get("if-match", "")))
        body = f'<?xml version="1.0"?>{self._summary(match[1], "LIVE")}'.encode()
        return 200, {"Content-Type": "text/xml"}, body

    def _update_function(self, request: Recorded, match: re.Match[str]) -> Answer:
        body = f'<?xml version="1.0"?>{self._summary(match[1], "DEVELOPMENT")}'.encode()
        # AWS documents this answer's version header as "ETtag" (sic: the API reference and
        # botocore's model)
        etag = "E" + uuid.uuid4().hex[:12].upper()
        self.updated_etags.append(etag)
        return 200, {"ETtag": etag, "Content-Type": "text/xml"}, body


class KeyGroupStands:
    """Stateful answers for the key groups moto 5.2.5 lacks or gets wrong (its GetKeyGroup
    of a missing id and its UpdateKeyGroup are 500s; it has no DeleteKeyGroup), as AWS
    documents them: a duplicate name is 409 KeyGroupAlreadyExists, a missing id 404
    NoSuchResource, a stale IfMatch 412 PreconditionFailed. And what AWS enforces of
    DeletePublicKey that moto does not: an IfMatch, and no key group holding the key (409
    PublicKeyInUse); a delete that passes goes on to moto, which holds the public keys."""

    def __init__(self, proxy: RecordingProxy) -> None:
        #: id -> {"name", "items", "comment", "etag"}
        self.groups: dict[str, dict[str, Any]] = {}
        proxy.answer("POST", f"{CF}key-group", self._create)
        proxy.answer("GET", f"{CF}key-group", self._list)
        proxy.answer("GET", f"{CF}key-group/([^/]+)", self._get)
        proxy.answer("PUT", f"{CF}key-group/([^/]+)", self._update)
        proxy.answer("DELETE", f"{CF}key-group/([^/]+)", self._delete)
        proxy.answer("DELETE", f"{CF}public-key/([^/]+)", self._delete_key)

    @staticmethod
    def _config(request: Recorded) -> dict[str, Any]:
        root = request.xml()
        return {
            "name": root.findtext("Name") or "",
            "items": [x.text or "" for x in root.findall("Items/PublicKey")],
            "comment": root.findtext("Comment") or "",
        }

    def _group(self, ident: str) -> str:
        group = self.groups[ident]
        items = "".join(f"<PublicKey>{k}</PublicKey>" for k in group["items"])
        config = (f"<Name>{group['name']}</Name><Items>{items}</Items>"
                  f"<Comment>{group['comment']}</Comment>")  # fmt: skip
        stamp = "<LastModifiedTime>2026-12-02T00:00:00Z</LastModifiedTime>"
        return (
            f"<KeyGroup><Id>{ident}</Id>{stamp}<KeyGroupConfig>{config}</KeyGroupConfig></KeyGroup>"
        )

    def _answer(self, ident: str, status: int = 200) -> Answer:
        body = f'<?xml version="1.0"?>{self._group(ident)}'.encode()
        return status, {"ETag": self.groups[ident]["etag"], "Content-Type": "text/xml"}, body

    def _create(self, request: Recorded, match: re.Match[str]) -> Answer:
        config = self._config(request)
        if any(g["name"] == config["name"] for g in self.groups.values()):
            return error_answer(409, "KeyGroupAlreadyExists", "a key group has that name")
        ident = uuid.uuid4().hex[:14].upper()
        self.groups[ident] = {**config, "etag": uuid.uuid4().hex[:13].upper()}
        return self._answer(ident, 201)

    def _list(self, request: Recorded, match: re.Match[str]) -> Answer:
        items = "".join(f"<KeyGroupSummary>{self._group(i)}</KeyGroupSummary>"
                        for i in self.groups)  # fmt: skip
        body = (f'<?xml version="1.0"?><KeyGroupList xmlns="{NS}"><MaxItems>100</MaxItems>'
                f"<Quantity>{len(self.groups)}</Quantity><Items>{items}</Items>"
                "</KeyGroupList>").encode()  # fmt: skip
        return 200, {"Content-Type": "text/xml"}, body

    def _get(self, request: Recorded, match: re.Match[str]) -> Answer:
        if match[1] not in self.groups:
            return error_answer(404, "NoSuchResource", "The specified key group does not exist.")
        return self._answer(match[1])

    def _update(self, request: Recorded, match: re.Match[str]) -> Answer:
        ident = match[1]
        if ident not in self.groups:
            return error_answer(404, "NoSuchResource", "The specified key group does not exist.")
        if request.headers.get("if-match") != self.groups[ident]["etag"]:
            return error_answer(412, "PreconditionFailed", "stale ETag")
        self.groups[ident] = {**self._config(request), "etag": uuid.uuid4().hex[:13].upper()}
        return self._answer(ident)

    def _delete(self, request: Recorded, match: re.Match[str]) -> Answer:
        if match[1] not in self.groups:
            return error_answer(404, "NoSuchResource", "The specified key group does not exist.")
        del self.groups[match[1]]
        return 204, {}, b""

    def _delete_key(self, request: Recorded, match: re.Match[str]) -> Answer | None:
        if not request.headers.get("if-match"):
            return error_answer(400, "InvalidIfMatchVersion", "IfMatch is required")
        if any(match[1] in g["items"] for g in self.groups.values()):
            return error_answer(409, "PublicKeyInUse", "a key group holds this public key")
        return None
