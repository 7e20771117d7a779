"""The invitation endpoint of the viewer-request CloudFront Function: ``/P/_auth`` with a link
signed by botocore's ``CloudFrontSigner`` (a real RSA key, a custom policy) becomes CloudFront's
three signed cookies and a 302 into the gallery; anything else a 302 to ``/private.html``
without cookies. Run under Node through ``tests/cloudfront_harness.js`` with CloudFront's event
shapes (the helpers of tests/test_cloudfront_function.py).

The function does not check the RSA signature (CloudFront checks the cookies on every later
request): these tests check that it refuses what is not an invitation for this gallery, on
this host, still valid, and that it never redirects anywhere but into the gallery.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from test_cloudfront_function import event, querystring, run

HOST = "photos.example.com"
KEY_ID = "K2JCJMDEHXQW5F"  # the shape of CloudFront's public key ids
UTC = datetime.UTC
PRIVATE = {
    "statusCode": 302,
    "statusDescription": "Found",
    "headers": {"location": {"value": "/private.html"}, "cache-control": {"value": "no-store"}},
}


@pytest.fixture(scope="module")
def signer() -> CloudFrontSigner:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def rsa_signer(message: bytes) -> bytes:
        return key.sign(message, padding.PKCS1v15(), hashes.SHA1())

    return CloudFrontSigner(KEY_ID, rsa_signer)


def later(**delta: float) -> datetime.datetime:
    return datetime.datetime.now(UTC).replace(microsecond=0) + datetime.timedelta(**delta)


def link(
    signer: CloudFrontSigner,
    gallery: str = "/trip",
    *,
    host: str = HOST,
    expires: datetime.datetime | None = None,
    resource: str | None = None,
    starts: datetime.datetime | None = None,
) -> str:
    """The query of an invitation link as `gallery invite` makes it (contract.md: custom
    policy, Resource https://HOST/PREFIX/*, DateLessThan)."""
    resource = resource or f"https://{host}{gallery}/*"
    policy = signer.build_policy(resource, expires or later(days=30), date_greater_than=starts)
    url = signer.generate_presigned_url(f"https://{host}{gallery}/_auth", policy=policy)
    return urlsplit(url).query


def fields(query: str) -> dict[str, str]:
    return {name: value for name, _, value in (p.partition("=") for p in query.split("&"))}


def with_fields(query: str, **changed: str | None) -> str:
    """The query with some values replaced (None: the parameter left out)."""
    values: dict[str, str | None] = {**fields(query), **changed}
    return "&".join(f"{name}={value}" for name, value in values.items() if value is not None)


def cf_b64(data: bytes) -> str:
    """CloudFront's base64: + -> -, = -> _, / -> ~ (what botocore's signer writes)."""
    text = base64.b64encode(data).decode()
    return text.replace("+", "-").replace("=", "_").replace("/", "~")


def auth(uri: str, query: str | dict[str, Any], host: str = HOST, method: str = "GET") -> Any:
    sent = event(uri, query, method)
    sent["request"]["headers"]["host"] = {"value": host}
    (result,) = run(sent)
    return result


def refused(*cases: tuple[str, str | dict[str, Any]]) -> None:
    """Each (uri, query) answers exactly the 302 to /private.html, without cookies."""
    events = [event(uri, query) for uri, query in cases]
    for (uri, query), result in zip(cases, run(*events), strict=True):
        assert result == PRIVATE, f"{uri}?{query}: {result}"


# --- a good link -------------------------------------------------------------------------------


def test_a_good_link_gives_the_three_cookies_and_a_302_into_the_gallery(
    signer: CloudFrontSigner,
) -> None:
    expires = later(days=30)
    query = link(signer, "/trip", expires=expires)
    result = auth("/trip/_auth", query, host="Photos.Example.COM")  # a Host in any case
    attributes = "Path=/trip/; Secure; HttpOnly; SameSite=Lax; Expires=" + email.utils.formatdate(
        expires.timestamp(), usegmt=True
    )
    sent = fields(query)
    assert result == {
        "statusCode": 302,
        "statusDescription": "Found",
        "headers": {"location": {"value": "/trip/"}, "cache-control": {"value": "no-store"}},
        "cookies": {
            "CloudFront-Policy": {"value": sent["Policy"], "attributes": attributes},
            "CloudFront-Signature": {"value": sent["Signature"], "attributes": attributes},
            "CloudFront-Key-Pair-Id": {"value": KEY_ID, "attributes": attributes},
        },
    }


def test_to_leads_to_a_page_inside_the_gallery(signer: CloudFrontSigner) -> None:
    query = link(signer, "/trip")
    for to, location in [
        ("album/", "/trip/album/"),
        ("album%2F", "/trip/album/"),  # as a browser may encode it
        ("", "/trip/"),
        ("2026/bosphorus/", "/trip/2026/bosphorus/"),
        ("caf%C3%A9/", "/trip/caf%C3%A9/"),
        ("a%20b/", "/trip/a%20b/"),
        ("galata.1280.3f2a.webp", "/trip/galata.1280.3f2a.webp"),
    ]:
        result = auth("/trip/_auth", f"{query}&to={to}")
        assert result["headers"]["location"]["value"] == location, to
        assert set(result["cookies"]) == {
            "CloudFront-Policy",
            "CloudFront-Signature",
            "CloudFront-Key-Pair-Id",
        }


def test_a_gallery_of_several_segments_and_a_head_request(signer: CloudFrontSigner) -> None:
    query = link(signer, "/family/2026")
    result = auth("/family/2026/_auth", query + "&to=album/", method="HEAD")
    assert result["headers"]["location"]["value"] == "/family/2026/album/"
    assert result["cookies"]["CloudFront-Policy"]["attributes"].startswith("Path=/family/2026/;")


def test_parameters_a_messenger_adds_are_ignored(signer: CloudFrontSigner) -> None:
    result = auth("/trip/_auth", link(signer) + "&fbclid=IwAR0x&utm_source=chat")
    assert result["headers"]["location"]["value"] == "/trip/" and "cookies" in result


def test_values_percent_encoded_by_the_viewer_are_read_decoded(signer: CloudFrontSigner) -> None:
    query = link(signer)
    sent = fields(query)
    # quote() keeps '~' and '_': encode every character, as a viewer may
    encoded = with_fields(query, Signature="".join(f"%{ord(c):02X}" for c in sent["Signature"]))
    result = auth("/trip/_auth", encoded)
    assert result["cookies"]["CloudFront-Signature"]["value"] == sent["Signature"]


def test_a_link_that_is_valid_from_a_past_date_is_good(signer: CloudFrontSigner) -> None:
    result = auth("/trip/_auth", link(signer, starts=later(hours=-1)))
    assert "cookies" in result


def test_the_policy_cookie_is_the_signed_policy(signer: CloudFrontSigner) -> None:
    """What CloudFront will check on the next request: the policy the key signed, unchanged."""
    expires = later(days=2)
    result = auth("/trip/_auth", link(signer, expires=expires))
    value = result["cookies"]["CloudFront-Policy"]["value"]
    policy = json.loads(
        base64.b64decode(value.replace("-", "+").replace("_", "=").replace("~", "/"))
    )
    assert policy == json.loads(
        signer.build_policy(f"https://{HOST}/trip/*", expires),
    )


# --- expired, tampered, foreign ----------------------------------------------------------------


def test_an_expired_link_is_refused(signer: CloudFrontSigner) -> None:
    refused(
        ("/trip/_auth", link(signer, expires=later(seconds=-5))),
        ("/trip/_auth", link(signer, expires=later(days=-400))),
        ("/trip/_auth", link(signer, starts=later(hours=1))),  # not valid yet
    )


def policy_query(signer: CloudFrontSigner, policy: bytes | str) -> str:
    """A real link whose Policy was swapped (the signature kept): a tampered link."""
    raw = policy.encode() if isinstance(policy, str) else policy
    return with_fields(link(signer), Policy=cf_b64(raw))


def statement(resource: str = f"https://{HOST}/trip/*", **condition: Any) -> dict[str, Any]:
    when = condition or {"DateLessThan": {"AWS:EpochTime": int(later(days=1).timestamp())}}
    return {"Resource": resource, "Condition": when}


def test_a_tampered_policy_is_refused(signer: CloudFrontSigner) -> None:
    soon = int(later(days=1).timestamp())
    bad_policies: list[bytes | str] = [
        b"not json at all",
        b"\xff\xfe\x00",
        "[]",
        json.dumps({"Statement": statement()}),  # not a list
        json.dumps({"Statement": []}),
        json.dumps({"Statement": [statement(), statement()]}),
        json.dumps({"Statement": [statement(f"https://{HOST}/other/*")]}),
        json.dumps({"Statement": [statement(f"https://{HOST}/*")]}),
        json.dumps({"Statement": [statement(f"https://{HOST}/trip*")]}),
        json.dumps({"Statement": [statement(f"https://{HOST}/trip/album/*")]}),
        json.dumps({"Statement": [statement(f"http://{HOST}/trip/*")]}),
        json.dumps({"Statement": [statement("https://evil.example/trip/*")]}),
        json.dumps({"Statement": [statement(f"https://{HOST}.evil.example/trip/*")]}),
        json.dumps({"Statement": [statement(DateLessThan={"AWS:EpochTime": str(soon)})]}),
        json.dumps({"Statement": [statement(DateLessThan={"AWS:EpochTime": soon + 0.5})]}),
        json.dumps({"Statement": [statement(DateLessThan={"AWS:EpochTime": 1e300})]}),
        json.dumps({"Statement": [statement(DateGreaterThan={"AWS:EpochTime": 1})]}),
        json.dumps({"Statement": [{"Resource": f"https://{HOST}/trip/*"}]}),
        json.dumps({"Statement": [statement()]})[:-3],  # cut short
    ]
    refused(*[("/trip/_auth", policy_query(signer, policy)) for policy in bad_policies])
    good = json.dumps({"Statement": [statement()]})
    assert "cookies" in auth("/trip/_auth", policy_query(signer, good))  # the cases' baseline


def test_a_policy_not_in_cloudfronts_base64_is_refused(signer: CloudFrontSigner) -> None:
    good = fields(link(signer))["Policy"]
    standard = good.replace("-", "+").replace("_", "=").replace("~", "/")
    refused(
        ("/trip/_auth", with_fields(link(signer), Policy="!!!!")),
        ("/trip/_auth", with_fields(link(signer), Policy=quote(standard, safe=""))),
        ("/trip/_auth", with_fields(link(signer), Policy=good.rstrip("_"))),  # no padding
        ("/trip/_auth", with_fields(link(signer), Policy=good + "____")),
        ("/trip/_auth", with_fields(link(signer), Policy="_" + good[1:])),
        ("/trip/_auth", with_fields(link(signer), Signature="abc+def/==")),
        ("/trip/_auth", with_fields(link(signer), Signature="abc")),
    )


def test_a_link_for_another_gallery_is_refused(signer: CloudFrontSigner) -> None:
    for_a = link(signer, "/a")
    refused(
        ("/b/_auth", for_a),
        ("/ab/_auth", for_a),
        ("/a/b/_auth", for_a),
        ("/A/_auth", for_a),
        ("/x/a/_auth", for_a),
    )
    assert "cookies" in auth("/a/_auth", for_a)  # the link itself is good


def test_a_link_for_another_host_is_refused(signer: CloudFrontSigner) -> None:
    query = link(signer, host="d111111abcdef8.cloudfront.net")
    assert auth("/trip/_auth", query) == PRIVATE
    assert "cookies" in auth("/trip/_auth", query, host="d111111abcdef8.cloudfront.net")


def test_a_forged_policy_cannot_put_attributes_in_the_cookie_path(
    signer: CloudFrontSigner,
) -> None:
    """The signature is not checked here, so a policy can name any gallery: one whose path
    would add attributes to the cookies, or lead out of the gallery, is refused all the same."""
    cases = []
    for gallery in ["/a;Domain=evil.example", "/a/..", "/a/.", "/a b", "/a\\b", "/a\r\nX: y"]:
        forged = json.dumps({"Statement": [statement(f"https://{HOST}{gallery}/*")]})
        cases.append((gallery + "/_auth", policy_query(signer, forged)))
    refused(*cases)


# --- malformed ---------------------------------------------------------------------------------


def test_a_missing_parameter_is_refused(signer: CloudFrontSigner) -> None:
    query = link(signer)
    refused(
        ("/trip/_auth", ""),
        *[("/trip/_auth", with_fields(query, **{name: None})) for name in fields(query)],
        *[("/trip/_auth", with_fields(query, **{name: ""})) for name in fields(query)],
    )


def test_a_repeated_parameter_is_refused(signer: CloudFrontSigner) -> None:
    query = link(signer)
    cases = []
    for name, value in fields(query).items():
        cases.append(("/trip/_auth", f"{query}&{name}={value}"))  # the same value twice
        cases.append(("/trip/_auth", f"{query}&{name}=X{value}"))
    cases.append(("/trip/_auth", f"{query}&to=album/&to=//evil.example"))
    # CloudFront's shape for a repeated name: the first value, and all in multiValue
    mv = querystring(query)
    mv["Key-Pair-Id"]["multiValue"] = [{"value": KEY_ID}, {"value": "K000000000000"}]
    cases.append(("/trip/_auth", mv))
    refused(*cases)


def test_a_bad_key_id_is_refused(signer: CloudFrontSigner) -> None:
    query = link(signer)
    refused(
        *[
            ("/trip/_auth", with_fields(query, **{"Key-Pair-Id": bad}))
            for bad in [
                "k2jcjmdehxqw5f",
                "K2JCJMD",
                "K" * 65,
                "K2JCJ-MDEH",
                "K2JCJMDEH%0A",
                "K%20" * 4,
            ]
        ]
    )
    assert "cookies" in auth("/trip/_auth", with_fields(query, **{"Key-Pair-Id": "A" * 64}))


def test_an_overlong_policy_or_signature_is_refused(signer: CloudFrontSigner) -> None:
    # a well-formed policy of this gallery, made longer than 2 KB by a field CloudFront ignores
    long_policy = {"Statement": [statement()], "Padding": "x" * 1600}
    assert len(cf_b64(json.dumps(long_policy).encode())) > 2048
    query = link(signer)
    refused(
        ("/trip/_auth", policy_query(signer, json.dumps(long_policy))),
        ("/trip/_auth", with_fields(query, Signature=cf_b64(b"s" * 800))),
    )
    # just under the bounds: accepted (a 4096-bit key's signature is 684 characters)
    short = {"Statement": [statement()], "Padding": "x" * 1300}
    assert len(cf_b64(json.dumps(short).encode())) <= 2048
    assert "cookies" in auth("/trip/_auth", policy_query(signer, json.dumps(short)))
    assert "cookies" in auth("/trip/_auth", with_fields(query, Signature=cf_b64(b"s" * 512)))


def test_a_broken_percent_escape_is_refused(signer: CloudFrontSigner) -> None:
    refused(("/trip/_auth", with_fields(link(signer), Signature="%E0%A4%A")))


# --- no open redirect --------------------------------------------------------------------------

OPEN_REDIRECTS = [
    "//evil.com",
    "%2F%2Fevil.com",
    "%2f%2fevil.com",
    "/evil.com",
    "/\\evil.com",
    "%2F%5Cevil.com",
    "\\\\evil.com",
    "%5C%5Cevil.com",
    "https://evil.com",
    "https:%2F%2Fevil.com",
    "HTTPS%3A%2F%2Fevil.com",
    "javascript:alert(1)",
    "../../x",
    "..%2F..%2Fx",
    "%2E%2E/%2E%2E/x",
    "album/../../x",
    "album/..",
    "..",
    "./album",
    "album//evil.com",
    "%252F%252Fevil.com",  # encoded twice: decoded once, a '%' is left, refused
    "%252E%252E/x",
    "album%0D%0ASet-Cookie:%20x=1",
    "album%0ALocation:%20//evil.com",
    "album%00",
    "album%09/",
    "album?x=//evil.com",
    "album#//evil.com",
    "%E0%A4%A",
]


@pytest.mark.parametrize("to", OPEN_REDIRECTS)
def test_to_never_leads_out_of_the_gallery(signer: CloudFrontSigner, to: str) -> None:
    assert auth("/trip/_auth", f"{link(signer)}&to={to}") == PRIVATE


def test_every_accepted_to_stays_in_the_gallery(signer: CloudFrontSigner) -> None:
    """Whatever `to` the function lets through, a browser lands inside /trip/ on this host."""
    query = link(signer)
    tries = ["album/", "a/b/c/", "x y/", "%E5%AE%B6/", "a.b/", "...", "a..b/", "~x/", "a;b=c/"]
    tries += [quote(c, safe="") + "x/" for c in "!$&'()*+,;=@~"]
    events = [event("/trip/_auth", f"{query}&to={to}") for to in tries]
    accepted = []
    for to, result in zip(tries, run(*events), strict=True):
        if result == PRIVATE:
            continue
        assert len(result["cookies"]) == 3, (to, result)
        accepted.append(to)
        location = result["headers"]["location"]["value"]
        landed = urlsplit(urljoin(f"https://{HOST}/trip/_auth", location))
        assert landed.netloc == HOST and landed.path.startswith("/trip/"), (to, location)
        assert all(32 < ord(c) < 127 for c in location), location
    assert {"album/", "a/b/c/", "x y/", "%E5%AE%B6/", "a..b/"} <= set(accepted), accepted


# --- what is not the endpoint ------------------------------------------------------------------


def test_near_names_are_not_the_endpoint(signer: CloudFrontSigner) -> None:
    query = link(signer)
    folder, longer, encoded, root = run(
        event("/trip/_auth/", query),
        event("/trip/_authx", query),
        event("/trip/%5Fauth", query),
        event("/_auth", query),
    )
    assert folder["uri"] == "/trip/_auth/index.html" and "statusCode" not in folder
    assert longer["statusCode"] == 301
    assert longer["headers"]["location"]["value"].startswith("/trip/_authx/?Policy=")
    assert encoded["statusCode"] == 301 and "cookies" not in encoded
    assert root["statusCode"] == 301 and "cookies" not in root  # no gallery at the bucket root


def test_the_rest_of_the_function_is_unchanged_around_the_endpoint() -> None:
    results = run(event("/trip/"), event("/trip/album"), event("/trip/auth"), event("/x_auth"))
    assert results[0]["uri"] == "/trip/index.html"
    assert [r.get("headers", {}).get("location", {}).get("value") for r in results[1:]] == [
        "/trip/album/",
        "/trip/auth/",
        "/x_auth/",
    ]
