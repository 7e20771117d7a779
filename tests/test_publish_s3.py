"""Publishing to S3 website hosting, against a real moto server over HTTP; requests are
counted from the server's log, faults come from a TCP proxy."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pictures
import pytest
from conftest import read_manifest, site_files
from gallery_builder.plugins.s3 import s3_publisher
from gallery_builder.plugins.s3.conditional import CANARY_KEY
from gallery_builder.plugins.s3.lease import lease_key
from gallery_builder.plugins.s3.publisher import S3Publisher
from s3env import Fault, FaultProxy, MotoServer, s3_client

from gallery_builder.errors import GalleryError
from gallery_builder.publishing import PublishConflict, publish
from gallery_builder.testing import build_gallery, run_cli

BUCKET = "my-gallery"
#: the lease of the gallery at "photos": outside every gallery's prefix
LEASE = lease_key("photos")


def publisher(server: MotoServer | FaultProxy, region: str = "us-east-1") -> S3Publisher:
    return s3_publisher(f"s3://{BUCKET}", endpoint_url=server.endpoint, region=region)


def bucket_files(s3, prefix: str = "photos") -> dict[str, dict]:
    """The gallery's objects: key (without the prefix) -> md5, content type, cache control."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix + "/"):
        for item in page.get("Contents", []):
            key = item["Key"].removeprefix(prefix + "/")
            if key in ("manifest.json", ".gallery-lease"):
                continue
            head = s3.head_object(Bucket=BUCKET, Key=item["Key"])
            found[key] = {
                "md5": item["ETag"].strip('"'),
                "content_type": head["ContentType"],
                "cache_control": head.get("CacheControl"),
            }
    return found


def assert_bucket_equals_site(s3, site: Path) -> None:
    files = read_manifest(site)["files"]
    assert bucket_files(s3) == {
        path: {k: entry[k] for k in ("md5", "content_type", "cache_control")}
        for path, entry in files.items()
    }
    live = json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())
    assert live["files"] == files


def test_a_new_bucket_costs_no_needless_request(site: Path, s3_server: MotoServer) -> None:
    mark = s3_server.mark()
    publish(site, publisher(s3_server), "photos")
    sent = [
        f"{r.method} {r.path}?{r.raw_query}".rstrip("?") for r in s3_server.requests_since(mark)
    ]
    files = set(read_manifest(site)["files"])
    b, root = f"/{BUCKET}", f"/{BUCKET}/{ROOT_LEASE}"
    # the manifest read finds no bucket: it is created at once; the bucket root's error.html
    # and private.html (CloudFront's 403 page for a private gallery), and the stylesheet and
    # icon they link to, are written under the root's lease before the website (or a
    # distribution) points at them; the policy is read before the merge and read back
    assert [s for s in sent if not is_file_put(s, files)] == [
        f"GET {b}/photos/manifest.json",
        f"PUT {b}",
        # the conditional writes are checked once per bucket (a canary: read, created, refused
        # twice, written with the verdict)
        f"GET {b}/{CANARY_KEY}", *[f"PUT {b}/{CANARY_KEY}"] * 4,
        f"PUT {root}", f"GET {b}/manifest.json", f"GET {b}/.gallery-root.json",
        f"GET {b}?list-type=2&encoding-type=url",
        f"GET {b}/error.html", f"GET {b}/private.html", f"GET {b}/_root/{FAVICON}",
        f"GET {b}/_root/{STYLE}", f"PUT {b}/.gallery-root.json",
        # a new key is written only where nothing is: If-Match, 404, then If-None-Match
        *[f"PUT {b}/{key}" for key in (f"_root/{FAVICON}", f"_root/{STYLE}", "private.html",
                                       "error.html") for _ in range(2)],
        f"PUT {b}/.gallery-root.json", f"DELETE {root}",
        # a bucket this publish made is not asked for again, has no settings to read first,
        # and holds no object of an interrupted publish to look for (no LIST of the prefix)
        f"PUT {b}?publicAccessBlock",
        f"PUT {b}?website",
        f"GET {b}?policy",
        f"PUT {b}?policy",
        f"GET {b}?policy",
        f"PUT {b}/{LEASE}",
        # the pending mark, naming every file about to be sent (a new bucket: no neighbour)
        f"PUT {b}/photos/manifest.json",
        # the files; the policy checked again before the commit; the manifest; the release
        f"GET {b}?policy", f"PUT {b}/photos/manifest.json", f"DELETE {b}/{LEASE}",
        # the root's listing, now that the gallery is live
        f"PUT {root}", f"GET {b}/manifest.json", f"GET {b}/.gallery-root.json",
        f"GET {b}?list-type=2&encoding-type=url", f"GET {b}/photos/manifest.json",
        f"GET {b}/index.html", f"GET {b}/error.html", f"GET {b}/private.html",
        f"GET {b}/_root/{FAVICON}", f"GET {b}/_root/{STYLE}",
        f"PUT {b}/.gallery-root.json", f"PUT {b}/index.html", f"PUT {b}/index.html",
        f"PUT {b}/.gallery-root.json", f"DELETE {root}",
    ]  # fmt: skip
    assert len([s for s in sent if is_file_put(s, files)]) == len(files)


#: the lease of the bucket root (the empty prefix), and the default theme's root files
ROOT_LEASE = lease_key("")
FAVICON, STYLE = "favicon.fab74129.svg", "style.a6321219.css"


def is_file_put(line: str, files: set[str]) -> bool:
    return line.startswith(f"PUT /{BUCKET}/photos/") and line.split("/photos/", 1)[1] in files


def resources(statement: dict) -> list[str]:
    value = statement["Resource"]
    return [value] if isinstance(value, str) else value


def manifest_is_live(s3) -> bool:
    """Whether the gallery has gone live: its manifest is in the bucket (if there is one)."""
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        return False
    if s3.list_objects_v2(Bucket=BUCKET, Prefix="photos/manifest.json")["KeyCount"] != 1:
        return False
    live = json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())
    return "pending" not in live  # a pending mark lists only what was live before


def writes(requests) -> list[str]:
    return [f"{r.method} {r.path}" for r in requests if r.method in ("PUT", "POST", "DELETE")]


def is_root_step(path: str) -> bool:
    """A request of the bucket root's rebuild (tests/test_bucket_root.py), not the gallery's."""
    key = path.removeprefix(f"/{BUCKET}/")
    return key in (ROOT_LEASE, ".gallery-root.json", "index.html", "error.html") or key.startswith(
        "_root/"
    )


def test_a_first_publish_sets_up_website_hosting_and_uploads_the_site(
    site: Path, s3_server: MotoServer, s3
) -> None:
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 0, result.output
    # moto is not AWS: no amazonaws.com website address, the objects' own URLs on the store
    assert "website:" not in result.stdout and "s3-website" not in result.output
    assert f"gallery: {s3_server.endpoint}/{BUCKET}/photos/" in result.output
    assert "is not AWS S3: no amazonaws.com website address applies" in result.stderr
    assert_bucket_equals_site(s3, site)
    block = s3.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                     "BlockPublicPolicy": False, "RestrictPublicBuckets": False}  # fmt: skip
    website = s3.get_bucket_website(Bucket=BUCKET)
    assert website["IndexDocument"] == {"Suffix": "index.html"}
    # the bucket root's error.html serves every gallery in the bucket (test_bucket_root.py)
    assert website["ErrorDocument"] == {"Key": "error.html"}
    assert s3.head_object(Bucket=BUCKET, Key="error.html")  # the error document exists
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert statement["Resource"] == [
        f"arn:aws:s3:::{BUCKET}/photos/*",
        *(f"arn:aws:s3:::{BUCKET}/{key}" for key in ("index.html", "error.html", "_root/*")),
    ]
    assert statement["Action"] == "s3:GetObject" and statement["Principal"] == "*"


def test_the_manifest_is_the_last_write_and_deletes_come_after(
    source: Path, site: Path, s3_server: MotoServer, s3
) -> None:
    publish(site, publisher(s3_server), "photos")
    pictures.jpeg(source / "Trip" / "b.jpg", (300, 200), taken="2024:01:02 10:00:00")
    build_gallery(source, site)
    mark = s3_server.mark()
    publish(site, publisher(s3_server), "photos")
    done = [w for w in writes(s3_server.requests_since(mark)) if not is_root_step(w.split()[1])]
    manifest_writes = [i for i, w in enumerate(done) if w == f"PUT /{BUCKET}/photos/manifest.json"]
    # first the live manifest marked "pending" (pages are about to be replaced), then the commit
    assert len(manifest_writes) == 2 and done[manifest_writes[0] - 1].endswith(LEASE)
    commit = manifest_writes[1]
    uploads = [w for w in done[manifest_writes[0] + 1 : commit] if w.startswith("PUT")]
    assert all(not w.endswith(".html") for w in uploads[:-2])  # images first, then pages
    assert uploads[-2:] == [
        f"PUT /{BUCKET}/photos/trip/index.html",
        f"PUT /{BUCKET}/photos/index.html",
    ]
    after = done[commit + 1 :]
    assert any(w.startswith("POST") for w in after)  # DeleteObjects, after the commit
    assert after[-1] == f"DELETE /{BUCKET}/{LEASE}"  # the lease, released
    assert_bucket_equals_site(s3, site)


def test_a_noop_publish_sends_exactly_one_request(site: Path, s3_server: MotoServer) -> None:
    publish(site, publisher(s3_server), "photos")
    mark = s3_server.mark()
    result = publish(site, publisher(s3_server), "photos")
    assert [str(r) for r in s3_server.requests_since(mark)] == [
        f"GET /{BUCKET}/photos/manifest.json -> 200"
    ]
    assert not result.committed


def test_one_changed_picture_sends_only_its_files_pages_and_manifest(
    source: Path, site: Path, s3_server: MotoServer, s3
) -> None:
    publish(site, publisher(s3_server), "photos")
    pictures.jpeg(source / "a.jpg", (330, 250), taken="2024:01:01 10:00:00")
    build_gallery(source, site)
    new = {p for p in read_manifest(site)["files"] if p.startswith("a.")}
    mark = s3_server.mark()
    publish(site, publisher(s3_server), "photos")
    puts = {
        r.path.removeprefix(f"/{BUCKET}/photos/")
        for r in s3_server.requests_since(mark)
        if r.method == "PUT" and not is_root_step(r.path)
    }
    assert puts - {"manifest.json", f"/{BUCKET}/{LEASE}"} == new | {"index.html"}
    assert_bucket_equals_site(s3, site)  # and no stale object is left


def test_other_statements_and_objects_the_gallery_did_not_write_survive(
    source: Path, site: Path, s3_server: MotoServer, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    theirs = {
        "Sid": "TheirAccess",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:ListBucket",
        "Resource": f"arn:aws:s3:::{BUCKET}",
    }
    s3.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [theirs]})
    )
    s3.put_object(Bucket=BUCKET, Key="other/keep.txt", Body=b"outside the prefix")
    s3.put_object(Bucket=BUCKET, Key="photos/notes.txt", Body=b"inside, not ours")
    publish(site, publisher(s3_server), "photos")
    (source / "a.jpg").unlink()
    build_gallery(source, site)
    publish(site, publisher(s3_server), "photos")
    statements = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert theirs in statements and len(statements) == 2
    assert (
        s3.get_object(Bucket=BUCKET, Key="other/keep.txt")["Body"].read() == b"outside the prefix"
    )
    assert (
        s3.get_object(Bucket=BUCKET, Key="photos/notes.txt")["Body"].read() == b"inside, not ours"
    )
    files = bucket_files(s3)
    del files["notes.txt"]
    assert set(files) == set(read_manifest(site)["files"])  # a.jpg's images were deleted


def test_a_dry_run_sends_no_write(site: Path, s3_server: MotoServer) -> None:
    mark = s3_server.mark()
    result = run_cli(["publish", f"s3://{BUCKET}", "--site", site, "--dry-run",
                      "--endpoint-url", s3_server.endpoint])  # fmt: skip
    assert result.exit_code == 0 and "upload index.html (new)" in result.output
    assert writes(s3_server.requests_since(mark)) == []


def test_a_bucket_outside_us_east_1_gets_the_dot_form_url(
    site: Path, s3_server: MotoServer, s3, aws_names
) -> None:
    result = run_cli(["publish", f"s3://{BUCKET}/trip", "--site", site, "--region", "eu-central-1",
                      "--endpoint-url", aws_names("eu-central-1")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-central-1"
    assert "website: http://my-gallery.s3-website.eu-central-1.amazonaws.com/" in result.output
    assert "gallery: http://my-gallery.s3-website.eu-central-1.amazonaws.com/trip/" in result.output
    assert s3.head_object(Bucket=BUCKET, Key="trip/index.html")


class Recording(S3Publisher):
    """The real S3 publisher, noting which objects it sends as bytes and which it retags."""

    calls: list[tuple[str, str]]

    def upload(self, key, file, entry, **kw):
        self.calls.append(("upload", key.removeprefix("photos/")))
        super().upload(key, file, entry, **kw)

    def retag(self, key, entry, **kw):
        self.calls.append(("retag", key.removeprefix("photos/")))
        super().retag(key, entry, **kw)


def recording(server: MotoServer) -> Recording:
    base = publisher(server)
    recorder = Recording(BUCKET, base.client, base.region)
    recorder.calls = []
    return recorder


def scripts_bucket(s3, source: Path, edited: str, gone: str) -> None:
    """The bucket as the original script left it: every picture's original at
    photos/<relpath> (``edited`` as it was before an edit; ``gone`` no longer in the source),
    and its flat manifest {relpath: md5}, with no headers of ours."""
    s3.create_bucket(Bucket=BUCKET)
    flat = {}
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        relpath = path.relative_to(source).as_posix()
        data = b"before the edit" if relpath == edited else path.read_bytes()
        s3.put_object(Bucket=BUCKET, Key=f"photos/{relpath}", Body=data)
        flat[relpath] = hashlib.md5(data).hexdigest()
    s3.put_object(Bucket=BUCKET, Key=f"photos/{gone}", Body=b"a picture since removed")
    flat[gone] = hashlib.md5(b"a picture since removed").hexdigest()
    s3.put_object(Bucket=BUCKET, Key="photos/manifest.json", Body=json.dumps(flat).encode())


@pytest.fixture
def script_source(source: Path) -> Path:
    """Pictures as the script was pointed at: names with capitals and spaces kept."""
    pictures.jpeg(source / "a.jpg", taken="2024:01:01 10:00:00")
    pictures.jpeg(source / "Trip" / "B and C.JPG", taken="2024:01:02 10:00:00")
    pictures.png(source / "Trip" / "Day" / "c.png")
    return source


def test_the_original_scripts_bucket_is_migrated_without_sending_unchanged_files(
    script_source: Path, tmp_path: Path, s3_server: MotoServer, s3
) -> None:
    scripts_bucket(s3, script_source, edited="Trip/Day/c.png", gone="Trip/IMG_0001.jpg")
    (script_source / "gallery.toml").write_text("[images]\noriginals = true\n")
    site = tmp_path / "site"
    build_gallery(script_source, site)
    recorder = recording(s3_server)
    publish(site, recorder, "photos")
    sent = {path for call, path in recorder.calls if call == "upload"}
    retagged = {path for call, path in recorder.calls if call == "retag"}
    # the same bytes are not sent again: a server-side copy gives them our headers
    assert {"a.jpg", "Trip/B and C.JPG"} <= retagged and not retagged & sent
    assert not {"a.jpg", "Trip/B and C.JPG"} & sent
    assert "Trip/Day/c.png" in sent  # edited since the script published it
    assert not any(path.endswith((".html", ".webp")) for path in retagged)
    with pytest.raises(s3.exceptions.ClientError, match="Not Found"):
        s3.head_object(Bucket=BUCKET, Key="photos/Trip/IMG_0001.jpg")  # the script's, gone
    assert_bucket_equals_site(s3, site)
    assert bucket_files(s3)["Trip/B and C.JPG"]["cache_control"] == "no-cache"


@pytest.mark.parametrize("keep_stale", [False, True])
def test_without_originals_the_scripts_uploads_go_unless_kept(
    script_source: Path, tmp_path: Path, s3_server: MotoServer, s3, keep_stale: bool
) -> None:
    scripts_bucket(s3, script_source, edited="", gone="Trip/IMG_0001.jpg")
    site = tmp_path / "site"
    build_gallery(script_source, site)
    publish(site, publisher(s3_server), "photos", keep_stale=keep_stale)
    scripts = {"a.jpg", "Trip/B and C.JPG", "Trip/Day/c.png", "Trip/IMG_0001.jpg"}
    left = scripts & set(bucket_files(s3))
    assert left == (scripts if keep_stale else set())
    if keep_stale:  # kept, and no longer the gallery's: later publishes leave them too
        (script_source / "a.jpg").unlink()
        build_gallery(script_source, site)
        publish(site, publisher(s3_server), "photos")
        assert scripts <= set(bucket_files(s3))


def test_publish_completes_through_resets_throttling_and_cut_responses(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    fault_proxy.plan([
        Fault("reset", method="PUT", nth=2),
        Fault("slowdown", method="PUT", nth=5),
        Fault("truncate", method="GET", path="manifest.json", nth=1),
        Fault("slowdown", method="POST", nth=1),
    ])  # fmt: skip
    publish(site, publisher(fault_proxy), "photos")
    assert fault_proxy.pending() == [] or all(f.method == "POST" for f in fault_proxy.pending())
    assert_bucket_equals_site(s3, site)


def test_an_interrupted_publish_resends_nothing_that_arrived(
    site: Path, s3_server: MotoServer, s3
) -> None:
    class Killed(S3Publisher):
        sent = 0

        def upload(self, key, file, entry, **kw):
            if not key.startswith("photos/"):  # the bucket root's
                return super().upload(key, file, entry, **kw)
            if Killed.sent == 6:
                raise KeyboardInterrupt
            Killed.sent += 1
            super().upload(key, file, entry, **kw)

    base = publisher(s3_server)
    with pytest.raises(KeyboardInterrupt):
        publish(site, Killed(BUCKET, base.client, base.region), "photos", workers=1)
    assert not manifest_is_live(s3)  # nothing went live
    mark = s3_server.mark()
    result = publish(site, publisher(s3_server), "photos")
    assert len(result.resumed) == 6
    sent = {r.path for r in s3_server.requests_since(mark) if r.method == "PUT"}
    assert not sent & {f"/{BUCKET}/photos/{p}" for p in result.resumed}
    assert_bucket_equals_site(s3, site)


def test_an_overlapping_publish_is_refused(site: Path, s3_server: MotoServer, s3) -> None:
    class Meddling(S3Publisher):
        def upload(self, key, file, entry, **kw):
            if key.startswith("photos/") and key.endswith("index.html"):
                with pytest.raises(PublishConflict, match="another publish holds"):
                    publish(site, publisher(s3_server), "photos")
            super().upload(key, file, entry, **kw)

    base = publisher(s3_server)
    publish(site, Meddling(BUCKET, base.client, base.region), "photos")
    assert_bucket_equals_site(s3, site)


def test_a_bad_bucket_name_is_refused_before_any_request(site: Path, s3_server: MotoServer):
    mark = s3_server.mark()
    result = run_cli(
        ["publish", "s3://My_Bucket", "--site", site, "--endpoint-url", s3_server.endpoint]
    )
    assert result.exit_code == 2 and "not a valid S3 bucket name" in result.output
    assert s3_server.requests_since(mark) == []


def test_site_files_are_what_the_bucket_holds_after_a_cli_publish(site, s3_server, s3) -> None:
    assert (
        run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", s3_server.endpoint]).exit_code
        == 0
    )
    keys = {k for k in bucket_files(s3)}
    assert keys == set(site_files(site)) - {"manifest.json"}


def test_credentials_never_appear_in_the_output(
    site: Path, s3_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very/secret+key/do-not-print")
    args = ["publish", BUCKET, "--site", site, "--endpoint-url", s3_server.endpoint, "-v"]
    result = run_cli(args)
    assert result.exit_code == 0
    assert f"uploaded {s3_server.endpoint}/my-gallery/photos/" in result.output
    assert "AKIAEXAMPLEKEYID1234" not in result.output
    assert "very/secret+key" not in result.output


# --- S3-compatible stores: hosting calls they do not implement ---------------------------------


def test_hosting_calls_a_store_does_not_implement_are_reported_and_skipped(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)  # an existing bucket: its settings are read first
    fault_proxy.plan([
        Fault("not-implemented", method="GET", path="?publicAccessBlock"),
        Fault("not-implemented", method="PUT", path="?website"),
        # a store without bucket policies answers every policy call so (asked once: the
        # check before the commit knows the store has none)
        Fault("not-implemented", method="GET", path="?policy"),
    ])  # fmt: skip
    args = ["publish", BUCKET, "--site", site, "--endpoint-url", fault_proxy.endpoint]
    result = run_cli(args)
    assert result.exit_code == 0, result.output
    assert fault_proxy.pending() == []
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 4, result.stderr  # the last: not AWS, no website address
    store = f"the store at {fault_proxy.endpoint}"
    assert f"{store} does not support get_public_access_block (NotImplemented)" in warnings[0]
    assert "skipped get_public_access_block and put_public_access_block" in warnings[0]
    assert "put_bucket_website (NotImplemented)" in warnings[1]
    assert "and error.html as the index" in warnings[1]  # what to set by other means
    assert "does not support bucket policies (NotImplemented)" in warnings[2]
    assert_bucket_equals_site(s3, site)  # the gallery itself is published
    # a policy that could not be read is never replaced
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchBucketPolicy"):
        s3.get_bucket_policy(Bucket=BUCKET)
    with pytest.raises(s3.exceptions.ClientError, match="NoSuchWebsiteConfiguration"):
        s3.get_bucket_website(Bucket=BUCKET)
    # setup counts as done: the next publish neither repeats it nor warns again
    fault_proxy.plan([])
    again = run_cli(args)
    assert again.exit_code == 0 and "warning" not in again.stderr
    assert "up to date" in again.output


def test_a_store_without_policy_writes_keeps_the_rest_of_hosting(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    fault_proxy.plan([Fault("not-implemented", method="PUT", path="?policy")])
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", fault_proxy.endpoint])
    assert result.exit_code == 0, result.output
    assert "does not support put_bucket_policy (NotImplemented): skipped" in result.stderr
    assert "publicly readable" in result.stderr
    assert s3.get_bucket_website(Bucket=BUCKET)["ErrorDocument"] == {"Key": "error.html"}
    assert_bucket_equals_site(s3, site)


def test_other_errors_stop_the_publish_with_a_message_not_a_traceback(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    fault_proxy.plan([Fault("invalid-request", method="PUT", path="?website")])
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", fault_proxy.endpoint])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert (
        f"S3 refused PutBucketWebsite on bucket {BUCKET}: InvalidRequest (Invalid Request)"
        in result.output
    )
    assert not manifest_is_live(s3)


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("GET", "?publicAccessBlock", "s3:GetBucketPublicAccessBlock"),
        ("PUT", "?publicAccessBlock", "s3:PutBucketPublicAccessBlock"),
        ("GET", "?website", "s3:GetBucketWebsite"),
        ("PUT", "?website", "s3:PutBucketWebsite"),
        ("GET", "?policy", "s3:GetBucketPolicy"),
        ("PUT", "/photos/error.html", "s3:PutObject"),
        ("GET", "/photos/manifest.json", "s3:GetObject"),
        ("GET", "list-type=2", "s3:ListBucket"),
    ],
)
def test_access_denied_names_the_missing_iam_permission(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3, method, path, permission
) -> None:
    s3.create_bucket(Bucket=BUCKET)  # an existing bucket gets every call (a new one fewer)
    s3.put_public_access_block(
        Bucket=BUCKET,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"),
            True,
        ),
    )  # fmt: skip  (so that the policy flags need lifting)
    fault_proxy.plan([Fault("access-denied", method=method, path=path)])
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", fault_proxy.endpoint])
    assert fault_proxy.pending() == []
    assert result.exit_code == 1, result.output
    assert f"your IAM identity needs {permission}" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert not manifest_is_live(s3)


def test_a_refused_public_policy_points_to_account_level_block_public_access(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy
) -> None:
    # S3 answers AccessDenied to PutBucketPolicy when the account blocks public policies
    fault_proxy.plan([Fault("access-denied", method="PUT", path="?policy")])
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", fault_proxy.endpoint])
    assert result.exit_code == 1
    assert "needs s3:PutBucketPolicy; or the account blocks public bucket policies" in result.output
    assert "Block Public Access settings for this account" in result.output


# --- credentials and endpoints: the standard AWS chain ------------------------------------------


def test_aws_endpoint_url_in_the_environment_is_used(
    site: Path, s3_server: MotoServer, s3, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    mark = s3_server.mark()
    result = run_cli(["publish", BUCKET, "--site", site])
    assert result.exit_code == 0, result.output
    assert any(r.method == "PUT" for r in s3_server.requests_since(mark))
    assert_bucket_equals_site(s3, site)


@pytest.fixture
def aws_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """AWS config and credentials files with a profile 'gallery' (region eu-west-1), and no
    credentials in the environment."""
    folder = tmp_path / "aws"
    folder.mkdir()
    (folder / "config").write_text("[profile gallery]\nregion = eu-west-1\n")
    (folder / "credentials").write_text(
        "[gallery]\naws_access_key_id = AKIAPROFILEKEY000001\n"
        "aws_secret_access_key = profile/secret/key\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(folder / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(folder / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_DEFAULT_REGION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return folder


def test_a_profile_gives_credentials_and_region(
    site: Path, s3_server: MotoServer, s3, aws_files: Path, aws_names
) -> None:
    args = ["publish", BUCKET, "--site", site, "--endpoint-url", aws_names("eu-west-1")]
    result = run_cli([*args, "--profile", "gallery"])
    assert result.exit_code == 0, result.output
    assert s3.get_bucket_location(Bucket=BUCKET)["LocationConstraint"] == "eu-west-1"
    assert "http://my-gallery.s3-website-eu-west-1.amazonaws.com/" in result.output
    assert "AKIAPROFILEKEY000001" not in result.output and "profile/secret" not in result.output


def test_an_unknown_profile_is_a_usage_error(site: Path, s3_server, aws_files: Path) -> None:
    result = run_cli(["publish", BUCKET, "--site", site, "--profile", "nope",
                      "--endpoint-url", s3_server.endpoint])  # fmt: skip
    assert result.exit_code == 2 and "no AWS profile named 'nope'" in result.output


def test_no_credentials_anywhere_says_how_to_give_them(
    site: Path, s3_server: MotoServer, aws_files: Path
) -> None:
    mark = s3_server.mark()
    result = run_cli(["publish", BUCKET, "--site", site, "--endpoint-url", s3_server.endpoint])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "no AWS credentials found" in result.output and "--profile" in result.output
    assert s3_server.requests_since(mark) == []


def test_files_already_there_with_other_headers_are_sent_again(
    site: Path, s3_server: MotoServer, s3
) -> None:
    """Another tool (aws s3 sync, the original script) put the same bytes without our headers:
    the bytes match, the headers do not, so they are not taken as already published."""
    s3.create_bucket(Bucket=BUCKET)
    for path in read_manifest(site)["files"]:
        s3.put_object(Bucket=BUCKET, Key=f"photos/{path}", Body=(site / path).read_bytes())
    result = publish(site, publisher(s3_server), "photos")
    assert result.resumed == []
    assert_bucket_equals_site(s3, site)  # content types and cache control included
    # and with the right headers, an arrived file is not sent again
    s3.delete_object(Bucket=BUCKET, Key="photos/manifest.json")
    again = publish(site, publisher(s3_server), "photos")
    assert set(again.resumed) == set(read_manifest(site)["files"]) and again.uploaded == []


def test_a_connection_lost_for_good_stops_with_a_message_and_sends_no_more(
    site: Path, s3_server: MotoServer, fault_proxy: FaultProxy, s3
) -> None:
    s3.create_bucket(Bucket=BUCKET)
    fault_proxy.plan([Fault("reset", method="PUT", nth=n) for n in range(3, 400)])
    client = s3_client(fault_proxy.endpoint, max_attempts=1)
    with pytest.raises(GalleryError, match=r"S3 request failed: .*run gallery publish again"):
        publish(site, S3Publisher(BUCKET, client, "us-east-1"), "photos", workers=2)
    puts = [e for e in fault_proxy.events if e.method == "PUT"]
    # the lease, one upload, then the failures: the two threads' and the lease's release
    assert len(puts) <= 6, puts
    assert not manifest_is_live(s3)


def test_galleries_whose_prefixes_differ_only_in_punctuation_each_stay_public(
    site: Path, s3_server: MotoServer, s3
) -> None:
    publish(site, publisher(s3_server), "trips/2024")
    publish(site, publisher(s3_server), "trips-2024")
    statements = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert sorted(resources(s)[0] for s in statements) == [
        f"arn:aws:s3:::{BUCKET}/trips-2024/*",
        f"arn:aws:s3:::{BUCKET}/trips/2024/*",
    ]
    assert len({s["Sid"] for s in statements}) == 2


def test_an_older_statement_for_the_same_prefix_is_replaced(site, s3_server, s3) -> None:
    s3.create_bucket(Bucket=BUCKET)
    older = {"Sid": "GalleryBuilderPublicRead-Photos", "Effect": "Allow", "Principal": "*",
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/photos/*"}  # fmt: skip
    s3.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [older]})
    )
    publish(site, publisher(s3_server), "photos")
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert resources(statement)[0] == older["Resource"] and statement["Sid"] != older["Sid"]


def test_a_statement_lost_to_another_setup_meanwhile_is_put_back(
    site: Path, s3_server: MotoServer, s3
) -> None:
    """Another gallery's set-up, merging into the policy it read before this one wrote, drops
    this gallery's statement while its files upload: it is put back before the commit."""
    theirs = {"Sid": "Theirs", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
              "Resource": f"arn:aws:s3:::{BUCKET}/theirs/*"}  # fmt: skip

    class Overwritten(S3Publisher):
        done = False

        def upload(self, key, file, entry, **kw):
            if not Overwritten.done and key.startswith("photos/"):  # the other set-up's
                # stale write lands now
                Overwritten.done = True
                s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(
                    {"Version": "2012-10-17", "Statement": [theirs]}))  # fmt: skip
            super().upload(key, file, entry, **kw)

    base = publisher(s3_server)
    result = publish(site, Overwritten(BUCKET, base.client, base.region), "photos")
    statements = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"]
    assert sorted(resources(s)[0] for s in statements) == [
        f"arn:aws:s3:::{BUCKET}/photos/*",
        f"arn:aws:s3:::{BUCKET}/theirs/*",
    ]
    assert [note for note in result.notes if "is not AWS S3" not in note] == []
    live = json.loads(s3.get_object(Bucket=BUCKET, Key="photos/manifest.json")["Body"].read())
    assert live["hosting"] == {"fingerprint": base.hosting_fingerprint("photos"),
                               "region": "us-east-1"}  # fmt: skip
