"""A small recording (and rewriting) HTTP proxy for ACM's JSON API and Route 53's REST
calls, to put in front of the moto server: what ACM was sent, which moto does not keep, and
what a slower or stranger ACM or Route 53 would answer. A plain module with no fixtures, like
``s3env``."""

from __future__ import annotations

import http.client
import http.server
import json
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any


class AcmProxy:
    """A small HTTP proxy on 127.0.0.1 in front of the moto server that records each ACM call
    (its ``X-Amz-Target`` operation and JSON body). ``hide_records``: the first so many
    DescribeCertificate answers leave the validation ``ResourceRecord`` out, as real ACM does
    for a few seconds after a request (moto gives it at once). ``rewrite``: a function
    ``(operation, answer) -> answer`` applied to each JSON answer (what a wrong endpoint
    might say). Route 53's REST calls pass too, recorded as ``"GET /path"``; ``rewrite_raw``:
    ``(request target, body) -> body`` applied to every answer (e.g. Route 53's XML)."""

    def __init__(
        self,
        upstream: str,
        *,
        hide_records: int = 0,
        rewrite: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
        rewrite_raw: Callable[[str, bytes], bytes] | None = None,
    ) -> None:
        self.upstream = urllib.parse.urlsplit(upstream)
        self.hide_records = hide_records
        self.rewrite = rewrite
        self.rewrite_raw = rewrite_raw
        self.calls: list[tuple[str, dict[str, Any]]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._forward("POST")

            def do_GET(self) -> None:
                self._forward("GET")

            def _forward(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target")
                if target:  # ACM: the operation is in the header, the body is JSON
                    operation = target.rpartition(".")[2]
                    proxy.calls.append((operation, json.loads(body or b"{}")))
                else:  # Route 53 (REST): the operation is the method and path
                    operation = f"{method} {urllib.parse.urlsplit(self.path).path}"
                    proxy.calls.append((operation, {}))
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(method, self.path, body=body or None, headers=headers)
                answer = conn.getresponse()
                data = answer.read()
                if operation == "DescribeCertificate" and proxy.hide_records > 0:
                    proxy.hide_records -= 1
                    parsed = json.loads(data)
                    for option in parsed["Certificate"].get("DomainValidationOptions", []):
                        option.pop("ResourceRecord", None)
                    data = json.dumps(parsed).encode()
                if proxy.rewrite is not None and answer.status == 200 and target:
                    data = json.dumps(proxy.rewrite(operation, json.loads(data))).encode()
                if proxy.rewrite_raw is not None and answer.status == 200:
                    data = proxy.rewrite_raw(self.path, data)
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "connection", "server", "date"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]

    def __enter__(self) -> AcmProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
