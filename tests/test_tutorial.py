"""docs/tutorial.md is true: every ``$ command`` of its ```console blocks runs, in the order
written, from a copy of examples/photos (without its gallery.toml: the tutorial writes one),
against a moto server that answers for AWS's own host names, and prints what the tutorial
shows; and the IAM policies it lists cover every AWS call those commands made.

How it reaches moto without ``--endpoint-url`` in the text: S3 through
``AWS_ENDPOINT_URL_S3=http://s3.us-east-1.amazonaws.com`` with ``HTTP_PROXY`` pointing at
a fault proxy in front of moto (so the output shows real website URLs, as in
tests/conftest.py's ``aws_names``); CloudFront, ACM and Route 53 through their own
``AWS_ENDPOINT_URL_<SERVICE>`` at the recording proxy, which answers what moto lacks
(tests/recording_proxy.py). botocore reads those variables itself.

The tutorial steers the set-up with HTML comments before a block (invisible on the site):
``<!-- tutorial: DIRECTIVE; DIRECTIVE -->``, each one of :data:`DIRECTIVES`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest
from recording_proxy import CF, CloudFrontStandIns, Recorded, RecordingProxy
from s3env import Fault, FaultProxy, MotoServer

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "tutorial.md"
PHOTOS = ROOT / "examples" / "photos"
#: where the reader is, as the tutorial's output shows it
HOME = "/home/ada"
#: AWS's own example ids (CloudFront developer guide), shown instead of the ones moto makes up
DISTRIBUTION, DISTRIBUTION_DOMAIN = "EDFDVBD6EXAMPLE", "d111111abcdef8.cloudfront.net"
#: moto issues a requested certificate this long after the request (the tutorial's first
#: --domain run must see it pending; the next one, after `certificate-issued`, issued)
CERTIFICATE_SECONDS = 15
COMMAND_TIMEOUT = 240

#: what a directive does before its block's commands run
DIRECTIVES = {
    "exit N": "the commands of the block exit with status N (default 0)",
    "fault KIND METHOD PATH": "the proxy answers the first matching S3 request so (s3env.Fault)",
    "no-credentials": "the commands run with no AWS credentials anywhere",
    "certificate-issued": "wait until moto has issued every requested certificate",
    "lease-held BUCKET PREFIX": "another machine holds the gallery's publish lease",
}


# --- reading the tutorial -------------------------------------------------------------------


@dataclass
class Command:
    line: str  #: the command, without "$ "
    shown: list[str]  #: the output lines the tutorial shows
    directives: list[str]
    section: str  #: the "## " heading it is under


@dataclass
class Tutorial:
    commands: list[Command] = field(default_factory=list)
    #: the ```json blocks: the IAM policies, in order
    policies: list[dict[str, Any]] = field(default_factory=list)
    #: "$ " lines found outside ```console blocks
    stray: list[str] = field(default_factory=list)


def read_tutorial(text: str) -> Tutorial:
    tutorial = Tutorial()
    section, fence, body, directives = "", None, [], []
    pending: list[str] = []
    for line in text.splitlines():
        if fence is None:
            if line.startswith("```"):
                fence, body = line[3:].strip(), []
                directives, pending = pending, []
            elif match := re.fullmatch(r"<!-- tutorial: (.*) -->", line.strip()):
                pending += [d.strip() for d in match[1].split(";")]
            elif line.startswith("## "):
                section = line[3:].strip()
            elif line.lstrip().startswith("$ "):
                tutorial.stray.append(line)
            continue
        if line.startswith("```"):
            if fence == "console":
                for chunk in re.split(r"^(?=\$ )", "\n".join(body), flags=re.M):
                    if chunk.startswith("$ "):
                        first, *shown = chunk.splitlines()
                        tutorial.commands.append(Command(first[2:], shown, directives, section))
                    elif chunk.strip():
                        tutorial.stray.append(chunk)
            elif fence == "json":
                tutorial.policies.append(json.loads("\n".join(body)))
            else:
                tutorial.stray += [x for x in body if x.lstrip().startswith("$ ")]
            fence = None
            continue
        body.append(line)
    assert fence is None, "an unclosed ``` block"
    return tutorial


def line_pattern(shown: str) -> re.Pattern[str]:
    """A shown line as a pattern: '…' stands for anything, a number for any number (counts
    and timings change with the theme and the machine; the test checks the key ones)."""
    parts = []
    for piece in re.split(r"(…|\d+)", shown.strip()):
        if piece == "…":
            parts.append(".*?")
        elif piece.isdigit():
            parts.append(r"\d+")
        else:
            parts.append(re.escape(piece))
    return re.compile("".join(parts))


def missing_lines(shown: list[str], actual: list[str]) -> list[str]:
    """The shown lines not found, in order, among the actual ones (a line of just '…' is an
    elision; actual lines the tutorial leaves out are allowed)."""
    actual = [a.strip() for a in actual]
    position, missing = 0, []
    for line in shown:
        if line.strip() in ("", "…"):
            continue
        pattern = line_pattern(line)
        for i in range(position, len(actual)):
            if pattern.fullmatch(actual[i]):
                position = i + 1
                break
        else:
            missing.append(line)
    return missing


# --- which IAM action each request needs ----------------------------------------------------

_S3_BUCKET_QUERIES = {
    "policy": {"GET": "s3:GetBucketPolicy", "PUT": "s3:PutBucketPolicy"},
    "website": {"GET": "s3:GetBucketWebsite", "PUT": "s3:PutBucketWebsite"},
    "publicAccessBlock": {
        "GET": "s3:GetBucketPublicAccessBlock",
        "PUT": "s3:PutBucketPublicAccessBlock",
    },
    "ownershipControls": {
        "GET": "s3:GetBucketOwnershipControls",
        "PUT": "s3:PutBucketOwnershipControls",
    },
    "location": {"GET": "s3:GetBucketLocation"},
    "list-type": {"GET": "s3:ListBucket"},
    "delete": {"POST": "s3:DeleteObject"},
}


def s3_action(method: str, target: str) -> str:
    """The IAM action of one S3 request (a proxy request's absolute URL)."""
    parts = urlsplit(target)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    host = parts.hostname or ""
    path = parts.path.lstrip("/")
    if host.startswith("s3.") or host.startswith("s3-"):  # path style: /bucket/key
        path = path.partition("/")[2]
    for name, actions in _S3_BUCKET_QUERIES.items():
        if name in query and method in actions:
            return actions[method]
    if not query:
        if not path:
            return {"PUT": "s3:CreateBucket", "HEAD": "s3:ListBucket"}[method]
        return {"GET": "s3:GetObject", "HEAD": "s3:GetObject", "PUT": "s3:PutObject",
                "DELETE": "s3:DeleteObject"}[method]  # fmt: skip
    raise KeyError(f"{method} {target}")


_CLOUDFRONT = [  # (method, path below /2020-05-31/, query, actions)
    ("GET", r"origin-access-control", None, ["ListOriginAccessControls"]),
    ("POST", r"origin-access-control", None, ["CreateOriginAccessControl"]),
    ("GET", r"function/[^/]+/describe", None, ["DescribeFunction"]),
    ("GET", r"function/[^/]+", None, ["GetFunction"]),
    ("POST", r"function", None, ["CreateFunction"]),
    ("PUT", r"function/[^/]+", None, ["UpdateFunction"]),
    ("POST", r"function/[^/]+/publish", None, ["PublishFunction"]),
    ("GET", r"cache-policy", None, ["ListCachePolicies"]),
    ("GET", r"cache-policy/[^/]+", None, ["GetCachePolicy"]),
    ("POST", r"cache-policy", None, ["CreateCachePolicy"]),
    ("PUT", r"cache-policy/[^/]+", None, ["UpdateCachePolicy"]),
    ("GET", r"response-headers-policy", None, ["ListResponseHeadersPolicies"]),
    ("GET", r"response-headers-policy/[^/]+", None, ["GetResponseHeadersPolicy"]),
    ("POST", r"response-headers-policy", None, ["CreateResponseHeadersPolicy"]),
    ("PUT", r"response-headers-policy/[^/]+", None, ["UpdateResponseHeadersPolicy"]),
    ("GET", r"distribution", None, ["ListDistributions"]),
    ("POST", r"distribution", "WithTags", ["CreateDistribution", "TagResource"]),
    ("GET", r"distribution/[^/]+", None, ["GetDistribution"]),
    ("PUT", r"distribution/[^/]+/config", None, ["UpdateDistribution"]),
    ("POST", r"distribution/[^/]+/invalidation", None, ["CreateInvalidation"]),
    ("GET", r"tagging", None, ["ListTagsForResource"]),
]
_ROUTE53 = [
    ("GET", r"hostedzonesbyname", "route53:ListHostedZonesByName"),
    ("GET", r"hostedzone/[^/]+/rrset", "route53:ListResourceRecordSets"),
    ("POST", r"hostedzone/[^/]+/rrset/?", "route53:ChangeResourceRecordSets"),
]


def aws_actions(request: Recorded) -> list[str]:
    """The IAM actions of one CloudFront, ACM or Route 53 request."""
    if request.service == "acm":
        operation = request.headers["x-amz-target"].split(".", 1)[1]
        extra = ["acm:AddTagsToCertificate"] if b'"Tags"' in request.body else []
        return [f"acm:{operation}", *extra]
    if request.service == "cloudfront":
        rest = request.path[len(CF) :]
        for method, path, query, actions in _CLOUDFRONT:
            wanted = query is None or query in request.query
            if request.method == method and re.fullmatch(path, rest) and wanted:
                return [f"cloudfront:{a}" for a in actions]
    if request.service == "route53":
        rest = request.path.removeprefix("/2013-04-01/")
        for method, path, action in _ROUTE53:
            if request.method == method and re.fullmatch(path, rest):
                return [action]
    raise KeyError(str(request))


def policy_actions(policy: dict[str, Any]) -> set[str]:
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


# --- running it -----------------------------------------------------------------------------


@dataclass
class Aws:
    moto: MotoServer
    s3: FaultProxy
    others: RecordingProxy

    def env(self, home: Path) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        return {
            **os.environ,
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "HTTP_PROXY": self.s3.endpoint,
            "NO_PROXY": "127.0.0.1",
            "AWS_ENDPOINT_URL_S3": "http://s3.us-east-1.amazonaws.com",
            "AWS_ENDPOINT_URL_CLOUDFRONT": self.others.url,
            "AWS_ENDPOINT_URL_ACM": self.others.url,
            "AWS_ENDPOINT_URL_ROUTE_53": self.others.url,
            "COLUMNS": "200",
        }

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service, endpoint_url=self.moto.endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    env = {"MOTO_ACM_VALIDATION_WAIT": str(CERTIFICATE_SECONDS)}
    with (
        MotoServer(env=env) as moto,
        FaultProxy(moto.endpoint) as s3,
        RecordingProxy(moto.endpoint) as others,
    ):
        CloudFrontStandIns(others)
        yield Aws(moto, s3, others)


def _lease_key(prefix: str) -> str:
    try:
        from gallery_builder.plugins.s3.lease import lease_key
    except ImportError:  # before the S3 publisher became a package
        from gallery_builder.plugins.s3_lease import lease_key
    return lease_key(prefix)


def _wait_for_certificates(aws: Aws) -> None:
    acm = aws.client("acm")
    deadline = time.monotonic() + CERTIFICATE_SECONDS + 60
    while time.monotonic() < deadline:
        arns = [c["CertificateArn"] for c in acm.list_certificates()["CertificateSummaryList"]]
        statuses = {acm.describe_certificate(CertificateArn=a)["Certificate"]["Status"]
                    for a in arns}  # fmt: skip
        if arns and statuses == {"ISSUED"}:
            return
        time.sleep(0.5)
    pytest.fail("moto did not issue the certificate")


@dataclass
class Run:
    command: Command
    returncode: int
    lines: list[str]
    actions: list[str]


@dataclass
class Setup:
    """What a block's directives asked for."""

    env: dict[str, str]
    expected: int = 0
    faults: list[Fault] = field(default_factory=list)
    #: (bucket, key) of the leases to remove after the block
    leases: list[tuple[str, str]] = field(default_factory=list)


def apply_directives(aws: Aws, command: Command, home: Path) -> Setup:
    setup = Setup(aws.env(home))
    for directive in command.directives:
        word, *args = directive.split()
        if word == "exit":
            setup.expected = int(args[0])
        elif word == "fault":
            setup.faults.append(Fault(args[0], method=args[1], path=args[2]))  # type: ignore[arg-type]
        elif word == "no-credentials":
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                setup.env.pop(name)
        elif word == "certificate-issued":
            _wait_for_certificates(aws)
        elif word == "lease-held":
            bucket, prefix = args
            s3 = aws.client("s3")
            s3.create_bucket(Bucket=bucket)
            lease = {"until": time.time() + 600, "machine": "another-machine",
                     "pid": 4242, "started": 1}  # fmt: skip
            s3.put_object(Bucket=bucket, Key=_lease_key(prefix), Body=json.dumps(lease))
            setup.leases.append((bucket, _lease_key(prefix)))
        else:
            pytest.fail(f"unknown directive {directive!r}; known: {list(DIRECTIVES)}")
    return setup


def run_tutorial(aws: Aws, home: Path) -> list[Run]:
    tutorial = read_tutorial(TUTORIAL.read_text(encoding="utf-8"))
    shutil.copytree(PHOTOS, home / "photos")
    (home / "photos" / "gallery.toml").unlink()  # `gallery init` writes it
    names: dict[str, str] = {str(home): HOME}
    runs: list[Run] = []
    for command in tutorial.commands:
        setup = apply_directives(aws, command, home)
        aws.s3.plan(setup.faults)
        s3_mark, others_mark = len(aws.s3.events), aws.others.mark()
        result = subprocess.run(
            command.line, shell=True, cwd=home, env=setup.env, capture_output=True, text=True,
            timeout=COMMAND_TIMEOUT,
        )  # fmt: skip
        for bucket, key in setup.leases:
            aws.client("s3").delete_object(Bucket=bucket, Key=key)
        output = result.stdout + result.stderr
        if match := re.search(r"distribution: (\w+) \(([\w.]+\.cloudfront\.net)\)", output):
            names.setdefault(match[1], DISTRIBUTION)
            names.setdefault(match[2], DISTRIBUTION_DOMAIN)
        for real, shown in names.items():
            output = output.replace(real, shown)
        assert aws.s3.pending() == [], f"`{command.line}`: the planned fault never fired"
        actions = [s3_action(e.method, e.target) for e in aws.s3.events[s3_mark:]]
        actions += [a for r in aws.others.since(others_mark) for a in aws_actions(r)]
        runs.append(Run(command, result.returncode, output.splitlines(), actions))
        assert result.returncode == setup.expected, (
            f"`$ {command.line}` exited {result.returncode}, the tutorial says {setup.expected}:\n"
            + output
        )
        missing = missing_lines(command.shown, output.splitlines())
        assert not missing, (
            f"`$ {command.line}` did not print, in this order, the tutorial's lines\n"
            + "\n".join(missing)
            + "\n--- it printed:\n"
            + output
        )
    return runs


@pytest.fixture(scope="module")
def runs(aws: Aws, tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    return run_tutorial(aws, tmp_path_factory.mktemp("ada"))


# --- the tests ------------------------------------------------------------------------------


def test_every_command_of_the_tutorial_runs_and_prints_what_it_shows(runs: list[Run]) -> None:
    tutorial = read_tutorial(TUTORIAL.read_text(encoding="utf-8"))
    assert [r.command.line for r in runs] == [c.line for c in tutorial.commands]
    assert len(runs) >= 12
    # the key lines, exactly (the comparison above lets numbers vary)
    by_line = {r.command.line: r for r in runs}
    build = by_line["gallery build photos"]
    assert any(re.fullmatch(r"9 pictures in 4 albums: 9 built, 0 reused, 0 skipped; \d+ files "
                            r"written, 0 removed in [\d.]+ s", x) for x in build.lines)  # fmt: skip
    assert f"site: {HOME}/_site" in build.lines
    first = next(r for r in runs if r.command.line == "gallery publish s3://ada-pictures")
    assert "website: http://ada-pictures.s3-website-us-east-1.amazonaws.com/" in first.lines
    assert "gallery: http://ada-pictures.s3-website-us-east-1.amazonaws.com/photos/" in first.lines
    assert any(re.fullmatch(r"s3://ada-pictures/: \d+ uploaded, 0 deleted, 0 unchanged", x)
               for x in first.lines)  # fmt: skip
    again = [r for r in runs if r.command.line == "gallery publish s3://ada-pictures"][1]
    assert "s3://ada-pictures/: up to date, nothing sent" in again.lines
    assert len(again.actions) == 1, again.actions  # "it costs one request"
    https = by_line["gallery publish s3://ada-pictures --cdn cloudfront --wait"]
    assert f"gallery: https://{DISTRIBUTION_DOMAIN}/photos/" in https.lines
    domain = [r for r in runs if "--domain photos.example.com" in r.command.line]
    assert [r.returncode for r in domain] == [1, 0]
    assert "gallery: https://photos.example.com/photos/" in domain[1].lines


def test_the_troubleshooting_examples_fail_with_one_error_line(runs: list[Run]) -> None:
    failing = [r for r in runs if r.command.section == "Troubleshooting"]
    assert len(failing) >= 5
    for run in failing:
        assert run.returncode in (1, 2), run.command.line
        errors = [x for x in run.lines if x.startswith("Error: ")]
        assert len(errors) == 1 and "Traceback" not in "\n".join(run.lines), run.lines


def test_the_iam_policies_cover_every_call_the_commands_made(runs: list[Run]) -> None:
    policies = read_tutorial(TUTORIAL.read_text(encoding="utf-8")).policies
    assert len(policies) == 2
    website, https = (policy_actions(p) for p in policies)
    before_https = [r for r in runs if r.command.section in ("Install", "Build", "Publish")]
    used_website = {a for r in before_https for a in r.actions}
    assert used_website, "the website-hosting publishes made no AWS call?"
    assert sorted(used_website - website) == [], "add these to the website-hosting policy"
    used = {a for r in runs for a in r.actions}
    assert sorted(used - website - https) == [], "add these to the tutorial's IAM policies"
    assert any(a.startswith("cloudfront:") for a in used)
    assert any(a.startswith("acm:") for a in used)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_the_iam_policies_name_only_actions_the_code_needs() -> None:
    """Each listed action is one the code calls (its client method, or its PERMISSIONS
    table names it), so the policy asks for no more than publishing uses."""
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "plugins").rglob("*.py"))
    policies = read_tutorial(TUTORIAL.read_text(encoding="utf-8")).policies
    for action in sorted(set().union(*(policy_actions(p) for p in policies))):
        name = action.split(":")[1]
        if action in source:  # named in a PERMISSIONS table (s3:, acm:, route53:)
            continue
        calls = {_snake(name)}
        if name == "CreateDistribution":  # with its tags: TagResource in the same call
            calls.add("create_distribution_with_tags")
        assert any(f'"{c}"' in source or f".{c}(" in source for c in calls), action


def test_the_tutorial_has_no_command_outside_a_console_block() -> None:
    tutorial = read_tutorial(TUTORIAL.read_text(encoding="utf-8"))
    assert tutorial.stray == [], "put commands in ```console blocks (the test runs those)"


def test_reading_the_tutorial_finds_commands_output_and_directives() -> None:
    text = (
        "## A\n\n<!-- tutorial: exit 1; no-credentials -->\n\n```console\n$ one\nout\n\n"
        '$ two\n```\n\n```bash\n$ stray\n```\n\n```json\n{"Statement": []}\n```\n'
    )
    tutorial = read_tutorial(text)
    assert [(c.line, c.shown, c.directives, c.section) for c in tutorial.commands] == [
        ("one", ["out", ""], ["exit 1", "no-credentials"], "A"),
        ("two", [], ["exit 1", "no-credentials"], "A"),
    ]
    assert tutorial.stray == ["$ stray"] and tutorial.policies == [{"Statement": []}]


def test_shown_lines_match_in_order_with_elisions_and_any_numbers() -> None:
    actual = ["a 12 files in 1.5 s", "noise", "b: EXAMPLE (x)", "c"]
    assert missing_lines(["a 74 files in 1.99 s", "…", "c"], actual) == []
    assert missing_lines(["b: … (x)"], actual) == []
    assert missing_lines(["c", "a 1 files in 1 s"], actual) == ["a 1 files in 1 s"]
    assert missing_lines(["a files"], actual) == ["a files"]
