"""The S3 test infrastructure itself: a real moto server over HTTP, its request log, and the
fault proxy. The S3 publisher's tests rely on every behaviour checked here."""

from __future__ import annotations

import io
import shutil
from typing import Any

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError, ResponseStreamingError
from s3env import (
    Fault,
    FaultProxy,
    MotoServer,
    ProxyEvent,
    Request,
    parse_log_line,
    s3_client,
)

# -- fixtures (to move to conftest.py) -------------------------------------------------------


# -- helpers ---------------------------------------------------------------------------------


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def calls(requests: list[Request]) -> list[str]:
    return [str(r) for r in requests]


# -- the log ---------------------------------------------------------------------------------


def test_parse_log_line_reads_werkzeugs_format() -> None:
    line = '127.0.0.1 - - [24/Nov/2026 00:38:13] "PUT /bkt/a%20b/ü%3Fx%25.txt HTTP/1.1" 200 -'
    assert parse_log_line(line) == Request("PUT", "/bkt/a b/ü?x%.txt", {}, "", 200)
    listing = parse_log_line(
        '127.0.0.1 - - [24/Nov/2026 00:38:13] "GET /bkt?list-type=2&prefix=a%26b%2Bc '
        'HTTP/1.1" 200 -'
    )
    assert listing is not None
    assert listing.query == {"list-type": "2", "prefix": "a&b+c"}
    assert (listing.bucket, listing.key) == ("bkt", None)
    # werkzeug colours some statuses on a terminal and escapes backslashes and controls
    coloured = parse_log_line(
        '127.0.0.1 - - [24/Nov/2026 00:38:13] "\x1b[33mHEAD /bkt/back\\\\sl\\x01 HTTP/1.1'
        '\x1b[0m" 404 -'
    )
    assert coloured is not None
    assert (coloured.method, coloured.key, coloured.status) == ("HEAD", "back\\sl\x01", 404)
    assert parse_log_line("Press CTRL+C to quit") is None


def test_a_server_that_cannot_start_says_so() -> None:
    false = shutil.which("false")
    assert false is not None
    with pytest.raises(RuntimeError, match="exited with 1 while starting"):
        MotoServer(python=false).start()


def test_put_get_round_trip(s3: Any) -> None:
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>hello</h1>")
    got = s3.get_object(Bucket="site", Key="index.html")
    assert got["Body"].read() == b"<h1>hello</h1>"


def test_requests_are_counted_exactly(s3_server: MotoServer, s3: Any) -> None:
    s3.create_bucket(Bucket="site")
    key = "albums/été 2024/100% #1 a+b?.jpg"

    mark = s3_server.mark()
    s3.put_object(Bucket="site", Key=key, Body=b"x")
    assert calls(s3_server.requests_since(mark)) == [f"PUT /site/{key} -> 200"]

    mark = s3_server.mark()
    s3.head_object(Bucket="site", Key=key)
    with pytest.raises(ClientError):
        s3.head_object(Bucket="site", Key="missing")
    (head, missing) = s3_server.requests_since(mark)
    assert (head.method, head.bucket, head.key, head.status) == ("HEAD", "site", key, 200)
    assert (missing.method, missing.key, missing.status) == ("HEAD", "missing", 404)

    mark = s3_server.mark()
    s3.list_objects_v2(Bucket="site", Prefix="albums/été")
    (listing,) = s3_server.requests_since(mark)
    assert listing.query["prefix"] == "albums/été"
    assert listing.query["list-type"] == "2"

    # moto-api calls (the marks' syncs, resets) are never counted, unless asked for
    mark = s3_server.mark()
    assert s3_server.requests_since(mark) == []
    assert all(r.internal for r in s3_server.requests_since(mark, include_internal=True))
    assert not any(r.internal for r in s3_server.requests())


def test_reset_empties_s3(s3_server: MotoServer, s3: Any) -> None:
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="a", Body=b"1")
    s3_server.reset()
    assert s3.list_buckets()["Buckets"] == []
    with pytest.raises(ClientError) as exc:
        s3.head_bucket(Bucket="site")
    assert error_code(exc)[1] == 404


def test_conditional_writes(s3: Any) -> None:
    s3.create_bucket(Bucket="site")
    etag = s3.put_object(Bucket="site", Key="a", Body=b"1", IfNoneMatch="*")["ETag"]

    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="site", Key="a", Body=b"2", IfNoneMatch="*")
    assert error_code(exc) == ("PreconditionFailed", 412)

    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="site", Key="a", Body=b"2", IfMatch='"0123456789abcdef"')
    assert error_code(exc) == ("PreconditionFailed", 412)
    assert s3.get_object(Bucket="site", Key="a")["Body"].read() == b"1"

    new_etag = s3.put_object(Bucket="site", Key="a", Body=b"2", IfMatch=etag)["ETag"]
    assert new_etag != etag
    assert s3.get_object(Bucket="site", Key="a")["Body"].read() == b"2"


# -- the fault proxy -------------------------------------------------------------------------


def test_proxy_round_trip_keeps_the_connection_alive(
    s3_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    s3 = s3_client(fault_proxy.endpoint)
    mark = s3_server.mark()
    s3.create_bucket(Bucket="site")
    # a file-like body makes botocore send ``Expect: 100-continue``
    s3.put_object(Bucket="site", Key="a.html", Body=io.BytesIO(b"a" * 5000))
    s3.put_object(Bucket="site", Key="b.html", Body=b"b" * 5000)
    assert s3.get_object(Bucket="site", Key="a.html")["Body"].read() == b"a" * 5000
    assert s3.head_object(Bucket="site", Key="b.html")["ContentLength"] == 5000
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="site")["Contents"]]
    assert keys == ["a.html", "b.html"]

    assert [r.method for r in s3_server.requests_since(mark)] == [
        *("PUT", "PUT", "PUT", "GET", "HEAD", "GET"),
    ]
    assert fault_proxy.count == 6
    assert fault_proxy.connections == 1


@pytest.mark.parametrize("body", [b"x" * 1000, io.BytesIO(b"x" * 1000)], ids=["bytes", "file"])
def test_slowdown_is_retried_and_never_reaches_the_server(
    s3_server: MotoServer, fault_proxy: FaultProxy, body: bytes | io.BytesIO
) -> None:
    s3 = s3_client(fault_proxy.endpoint)
    s3.create_bucket(Bucket="site")
    fault_proxy.plan([Fault("slowdown", method="PUT")])

    mark = s3_server.mark()
    response = s3.put_object(Bucket="site", Key="a", Body=body)

    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert calls(s3_server.requests_since(mark)) == ["PUT /site/a -> 200"]
    assert fault_proxy.pending() == []
    assert fault_proxy.events[-2:] == [
        ProxyEvent("PUT", "/site/a", "slowdown"),
        ProxyEvent("PUT", "/site/a", None),
    ]
    assert s3.get_object(Bucket="site", Key="a")["Body"].read() == b"x" * 1000


def test_slowdown_without_retries_surfaces_as_slowdown(fault_proxy: FaultProxy) -> None:
    s3 = s3_client(fault_proxy.endpoint, max_attempts=1)
    fault_proxy.plan([Fault("slowdown", method="PUT", path="/site")])
    with pytest.raises(ClientError) as exc:
        s3.create_bucket(Bucket="site")
    assert error_code(exc) == ("SlowDown", 503)


def test_reset_is_retried(s3_server: MotoServer, fault_proxy: FaultProxy) -> None:
    s3 = s3_client(fault_proxy.endpoint)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="a", Body=b"payload")
    fault_proxy.plan([Fault("reset", method="GET")])

    mark = s3_server.mark()
    response = s3.get_object(Bucket="site", Key="a")

    assert response["Body"].read() == b"payload"
    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert calls(s3_server.requests_since(mark)) == ["GET /site/a -> 200"]


def test_truncated_body_is_an_error_not_short_data(
    s3_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    s3 = s3_client(fault_proxy.endpoint)
    s3.create_bucket(Bucket="site")
    s3.put_object(Bucket="site", Key="big", Body=b"z" * 100_000)
    fault_proxy.plan([Fault("truncate", method="GET", path="/site/big")])

    mark = s3_server.mark()
    response = s3.get_object(Bucket="site", Key="big")
    with pytest.raises(ResponseStreamingError, match="IncompleteRead"):
        response["Body"].read()
    assert calls(s3_server.requests_since(mark)) == ["GET /site/big -> 200"]


def test_truncated_put_answer_is_retried_although_the_server_stored_it(
    s3_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    s3 = s3_client(fault_proxy.endpoint)
    s3.create_bucket(Bucket="site")
    fault_proxy.plan([Fault("truncate", method="PUT", path="/site/a")])

    mark = s3_server.mark()
    s3.put_object(Bucket="site", Key="a", Body=b"1")
    assert calls(s3_server.requests_since(mark)) == ["PUT /site/a -> 200"] * 2


def test_faults_fire_on_the_nth_matching_request_only(fault_proxy: FaultProxy) -> None:
    s3 = s3_client(fault_proxy.endpoint, max_attempts=1)
    s3.create_bucket(Bucket="site")
    fault_proxy.plan([Fault("slowdown", method="PUT", path="/site/b", nth=2)])
    s3.put_object(Bucket="site", Key="a", Body=b"")
    s3.put_object(Bucket="site", Key="b", Body=b"")  # first match
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket="site", Key="b", Body=b"")
    assert error_code(exc) == ("SlowDown", 503)
    s3.put_object(Bucket="site", Key="b", Body=b"")  # fired once, then passes
    assert [e.fault for e in fault_proxy.events[-4:]] == [None, None, "slowdown", None]


def test_a_held_request_never_reaches_the_server_nor_answers(
    s3_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    client = s3_client(fault_proxy.endpoint, max_attempts=1, timeout=1)
    client.create_bucket(Bucket="site")
    fault_proxy.plan([Fault("hang", method="PUT", path="/site/a")])
    mark = s3_server.mark()
    with pytest.raises(ReadTimeoutError):
        client.put_object(Bucket="site", Key="a", Body=b"x")
    assert s3_server.requests_since(mark) == []
    assert fault_proxy.events[-1] == ProxyEvent("PUT", "/site/a", "hang")


def test_a_delayed_request_reaches_the_server_late_and_is_answered(
    s3_server: MotoServer, fault_proxy: FaultProxy, s3: Any
) -> None:
    import time

    client = s3_client(fault_proxy.endpoint, max_attempts=1)
    client.create_bucket(Bucket="site")
    fault_proxy.plan([Fault("delay", method="PUT", path="/site/a", seconds=1.0)])
    started = time.monotonic()
    client.put_object(Bucket="site", Key="a", Body=b"x")
    assert time.monotonic() - started >= 1.0
    assert s3.get_object(Bucket="site", Key="a")["Body"].read() == b"x"
    assert fault_proxy.events[-1] == ProxyEvent("PUT", "/site/a", "delay")


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [("not-implemented", 501, "NotImplemented"), ("access-denied", 403, "AccessDenied"),
     ("invalid-request", 400, "InvalidRequest")],
)  # fmt: skip
def test_answered_faults_carry_s3_error_codes(
    s3_server: MotoServer, fault_proxy: FaultProxy, kind: str, status: int, code: str
) -> None:
    client = s3_client(fault_proxy.endpoint, max_attempts=1)
    client.create_bucket(Bucket="site")
    fault_proxy.plan([Fault(kind, method="PUT", path="?website")])
    with pytest.raises(ClientError) as raised:
        client.put_bucket_website(
            Bucket="site", WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}}
        )
    assert error_code(raised) == (code, status)
