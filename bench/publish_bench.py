#!/usr/bin/env python3
"""Benchmark ``gallery publish`` against ``aws s3 sync`` on the same moto server.

This is a measurement tool, not a test. It generates deterministic photos (with
``build_bench.py``'s generator, cached in the work dir), builds them once with
``gallery build`` (default image settings: a few hundred files), starts one real
``python -m moto.server`` on 127.0.0.1 (``motoserver.py``) and
publishes the same site with both tools, each into its own bucket, under the same
prefix. Every request is counted from the server's own log.

Scenarios, each for both tools in the same round (``--repeat`` rounds, medians):

1. first publish into an empty bucket (gallery creates its bucket and sets up
   website hosting itself; sync's bucket is created beforehand, outside the timing);
2. no-op re-publish, nothing changed;
3. re-publish after a from-scratch rebuild: the site (build state included) is
   deleted and built again into the same path, so every file has the same bytes
   (checked by MD5) but a new mtime.

The server is reset (``POST /moto-api/reset``) at the start of every round, and the
order of the tools alternates from round to round. See bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

import photos as ph
from benchlib import (
    REPO_ROOT,
    CommandFailed,
    command_line,
    dist_version,
    emit_report,
    log,
    machine_lines,
    probe,
    run_measured,
    which_script,
)
from motoserver import MotoServer, Request, s3_client

PREFIX = "bench"  # the gallery's name, hence the publish prefix of both tools
REGION = "us-east-1"
METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
STATE_DIR = ".gallery"  # the build state inside the site; never published
TOOLS = ("gallery", "sync")
LABEL = {"gallery": "gallery publish", "sync": "aws s3 sync"}
SCENARIOS = [
    ("first", "1. first publish (empty bucket)"),
    ("noop", "2. no-op re-publish (nothing changed)"),
    ("rebuilt", "3. re-publish after a from-scratch rebuild (same bytes, new mtimes)"),
]

CONFIG = f"""\
# Written by bench/publish_bench.py: the default image settings, a fixed name
# (the publish prefix).
[gallery]
name = "{PREFIX}"
title = "Publish bench"
"""

CHECKS_SUMMARY = (
    "every site file PUT once by both tools on the first publish; both buckets hold the same "
    "keys; gallery's no-op and post-rebuild publishes are exactly one GET of manifest.json; "
    "sync uploads nothing on the no-op and every file after the rebuild; the rebuild has the "
    "same MD5s and newer mtimes"
)

# --------------------------------------------------------------------------
# Environment and commands
# --------------------------------------------------------------------------


def isolate_aws_environment(work: Path) -> None:
    """Fake credentials for every child process; no ~/.aws file, profile, proxy or
    endpoint setting of this machine can leak into either tool."""
    empty = work / "aws-empty-config"
    empty.write_text("")
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            del os.environ[name]
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": str(empty),
            "AWS_SHARED_CREDENTIALS_FILE": str(empty),
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )


def find_gallery(override: str | None) -> list[str]:
    if override:
        candidates = [shlex.split(override)]
    else:
        exe = which_script("gallery")
        candidates = [[exe]] if exe else []
        candidates.append([sys.executable, "-m", "gallery_builder.cli"])
    errors = []
    for cmd in candidates:
        ok, msg = probe([*cmd, "publish", "--help"])
        if ok:
            return cmd
        last = msg.splitlines()[-1] if msg else "?"
        errors.append(f"  {shlex.join([*cmd, 'publish', '--help'])} -> {last}")
    raise SystemExit(
        "error: no working `gallery` command:\n"
        + "\n".join(errors)
        + "\nInstall it (pip install -e .) or pass --gallery-cmd."
    )


def find_aws(override: str | None) -> tuple[list[str], str]:
    """The aws command and the first line of its ``--version``."""
    if override:
        cmd = shlex.split(override)
    else:
        exe = which_script("aws")
        cmd = [exe] if exe else [sys.executable, "-m", "awscli"]
    ok, msg = probe([*cmd, "--version"])
    if not ok:
        raise SystemExit(
            f"error: aws-cli is not available ({shlex.join([*cmd, '--version'])} -> "
            f"{msg.splitlines()[-1] if msg else '?'})\n"
            "Install it with: pip install awscli   (or pass --aws-cmd)"
        )
    return cmd, msg.splitlines()[0] if msg else "?"


def gallery_source_location(cmd: list[str]) -> str:
    """Where the ``gallery`` command imports its S3 publisher from (to catch a stale
    installed copy being measured instead of this checkout)."""
    python = cmd[0] if "python" in Path(cmd[0]).name else None
    if python is None:
        try:
            first = Path(cmd[0]).read_text(errors="replace").splitlines()[0]
        except (OSError, IndexError):
            first = ""
        if first.startswith("#!") and "python" in first:
            python = first[2:].strip().split()[0]
    if python is None:
        return "unknown"
    ok, out = probe([python, "-c", "import gallery_builder.plugins.s3 as m; print(m.__file__)"])
    return out.splitlines()[-1] if ok and out else "unknown"


def code_root(publisher_file: str) -> Path:
    """The checkout the measured gallery runs from (``plugins/`` sits at its top; the file is
    plugins/s3/__init__.py)."""
    path = Path(publisher_file)
    return path.parents[2] if path.is_file() and len(path.parents) > 2 else REPO_ROOT


def git_state(root: Path) -> str:
    """The commit of ``root``, and which of the measured code's files differ from it."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, check=True
            ).stdout.rstrip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    where = "" if root == REPO_ROOT else f" (a checkout at {root})"
    dirty = git("status", "--porcelain", "--", "gallery_builder", "plugins", "themes")
    if not dirty:
        return f"{commit}{where}; gallery_builder/, plugins/ and themes/ as committed"
    files = sorted(line[3:] for line in dirty.splitlines())
    return f"{commit}{where} plus uncommitted changes in {', '.join(files)}"


def gallery_upload_threads() -> str:
    """The ``workers`` default of ``gallery_builder.publishing.publish``, read from the source."""
    try:
        text = (REPO_ROOT / "gallery_builder" / "publishing.py").read_text()
    except OSError:
        return "?"
    match = re.search(r"^UPLOAD_WORKERS\s*=\s*(\d+)", text, re.MULTILINE) or re.search(
        r"\bworkers:\s*int\s*=\s*(\d+)", text
    )
    return match[1] if match else "?"


def aws_concurrency() -> str:
    try:
        from awscli.customizations.s3.transferconfig import DEFAULTS

        return str(DEFAULTS["max_concurrent_requests"])
    except ImportError:
        return "10 (documented default)"


# --------------------------------------------------------------------------
# Running and measuring
# --------------------------------------------------------------------------


def process_cpu(pid: int | None) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc), 0 if unknown."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


@dataclasses.dataclass(frozen=True)
class SiteFile:
    size: int
    md5: str
    mtime_ns: int


def inventory(site: Path) -> dict[str, SiteFile]:
    """Every file of the built site that is published (the build state left out)."""
    files = {}
    for path in sorted(site.rglob("*")):
        rel = path.relative_to(site)
        if rel.parts[0] == STATE_DIR or not path.is_file():
            continue
        st = path.stat()
        files[rel.as_posix()] = SiteFile(
            st.st_size, hashlib.md5(path.read_bytes()).hexdigest(), st.st_mtime_ns
        )
    return files


@dataclasses.dataclass
class Run:
    tool: str
    scenario: str
    round: int
    seconds: float
    cpu: float
    server_cpu: float
    requests: list[Request]
    bucket: str
    summary: str

    def methods(self) -> collections.Counter[str]:
        return collections.Counter(r.method for r in self.requests)

    def object_puts(self) -> list[str]:
        """Keys relative to the prefix of the objects PUT under it into this run's bucket
        (the bucket root's own files, outside the prefix, are not the site's)."""
        return [
            r.key.removeprefix(f"{PREFIX}/")
            for r in self.requests
            if r.method == "PUT"
            and r.bucket == self.bucket
            and r.key
            and r.key.startswith(f"{PREFIX}/")
        ]

    def site_puts(self, files: dict[str, SiteFile]) -> list[str]:
        return [key for key in self.object_puts() if key in files]

    def site_bytes(self, files: dict[str, SiteFile]) -> int:
        return sum(files[key].size for key in self.site_puts(files))

    def errors(self) -> list[Request]:
        return [r for r in self.requests if r.status >= 400]


def classify_gallery(run: Run, files: dict[str, SiteFile]) -> dict[str, list[Request]]:
    """gallery's requests by purpose: hosting setup, protocol (manifest, lease, listing),
    site files."""
    groups: dict[str, list[Request]] = {"hosting": [], "protocol": [], "files": [], "other": []}
    for r in run.requests:
        key = r.key.removeprefix(f"{PREFIX}/") if r.key else None
        if key is None and "list-type" in r.query:
            groups["protocol"].append(r)  # the listing that finds what an interrupted run sent
        elif key is None:
            groups["hosting"].append(r)
        elif key == "manifest.json" or key.startswith((".gallery-lease", ".gallery-leases/")):
            groups["protocol"].append(r)
        elif key in files and r.method == "PUT":
            groups["files"].append(r)
        else:
            groups["other"].append(r)
    return groups


class Bench:
    def __init__(
        self,
        args: argparse.Namespace,
        server: MotoServer,
        gallery_cmd: list[str],
        aws_cmd: list[str],
        site: Path,
    ) -> None:
        self.args = args
        self.server = server
        self.gallery_cmd = gallery_cmd
        self.aws_cmd = aws_cmd
        self.site = site
        self.runs: list[Run] = []
        self.checks: list[tuple[bool, str]] = []
        self.rebuilds: list[float] = []
        self.loads: list[float] = []  # 1-minute load average as each round began
        self.files: dict[str, SiteFile] = {}

    # -- commands ---------------------------------------------------------------------------

    def publish_cmd(self, tool: str, bucket: str) -> list[str]:
        endpoint = self.server.endpoint
        if tool == "gallery":
            return [
                *self.gallery_cmd,
                "publish",
                f"s3://{bucket}",
                "--site",
                str(self.site),
                "--endpoint-url",
                endpoint,
            ]
        return [
            *self.aws_cmd,
            "s3",
            "sync",
            str(self.site),
            f"s3://{bucket}/{PREFIX}",
            "--endpoint-url",
            endpoint,
            "--exclude",
            f"{STATE_DIR}/*",
        ]

    def display_cmd(self, tool: str) -> str:
        cmd = self.publish_cmd(tool, "BUCKET")
        cmd = [{str(self.site): "SITE", self.server.endpoint: "URL"}.get(c, c) for c in cmd]
        if cmd[0] == sys.executable:
            cmd[0] = "python"
        return shlex.join(cmd)

    def build(self, config: Path, src: Path) -> float:
        cmd = [*self.gallery_cmd, "build", str(src), "-o", str(self.site)]
        cmd += ["-j", str(self.args.jobs), "--config", str(config)]
        result = run_measured(cmd)
        log(f"built {self.site} in {result.seconds:.1f} s: {result.summary}")
        return result.seconds

    def publish(self, tool: str, scenario: str, rnd: int, bucket: str) -> Run:
        pid = self.server.pid
        mark = self.server.mark()
        cpu0 = process_cpu(pid)
        result = run_measured(self.publish_cmd(tool, bucket))
        requests = self.server.requests_since(mark)
        server_cpu = process_cpu(pid) - cpu0
        lines = [ln.strip() for ln in result.stdout.splitlines() if ln.strip()]
        if tool == "gallery":
            summary = lines[0] if lines else ""
        else:  # "upload: SRC to DST" per file and progress lines; anything else is shown
            uploads = sum(ln.startswith("upload:") for ln in lines)
            others = [ln for ln in lines if not ln.startswith(("upload:", "Completed "))]
            summary = f"{uploads} upload lines" + "".join(f"; {ln[:100]}" for ln in others[:3])
        run = Run(
            tool, scenario, rnd, result.seconds, result.cpu, server_cpu, requests, bucket, summary
        )
        self.runs.append(run)
        m = run.methods()
        log(
            f"round {rnd + 1} {scenario:<7} {LABEL[tool]:<15} {run.seconds:6.2f} s  "
            f"{len(requests)} requests ({', '.join(f'{k} {m[k]}' for k in METHODS if m[k])})"
        )
        return run

    def check(self, ok: bool, text: str) -> None:
        self.checks.append((ok, text))
        if not ok:
            log(f"CHECK FAILED: {text}")

    # -- a round ----------------------------------------------------------------------------

    def round(self, rnd: int, config: Path, src: Path) -> None:
        self.loads.append(os.getloadavg()[0])
        self.server.reset()
        client = s3_client(self.server.endpoint, REGION)
        buckets = {"gallery": f"gallery-bench-{rnd}", "sync": f"sync-bench-{rnd}"}
        client.create_bucket(Bucket=buckets["sync"])  # gallery creates its own
        order = list(TOOLS) if rnd % 2 == 0 else list(reversed(TOOLS))
        files = self.files
        want_gallery = sorted(files)  # the manifest's files and manifest.json itself
        n = len(files)

        first = {tool: self.publish(tool, "first", rnd, buckets[tool]) for tool in order}
        for tool, run in first.items():
            puts = run.site_puts(files)
            self.check(
                sorted(puts) == want_gallery,
                f"round {rnd + 1}, first publish, {LABEL[tool]}: PUT each of the {n} site files "
                f"once (got {len(puts)} PUTs of {len(set(puts))} distinct site files)",
            )
        keys = {
            tool: sorted(
                obj["Key"]
                for page in client.get_paginator("list_objects_v2").paginate(
                    Bucket=buckets[tool], Prefix=f"{PREFIX}/"
                )
                for obj in page.get("Contents", [])
            )
            for tool in TOOLS
        }
        self.check(
            keys["gallery"] == keys["sync"] == [f"{PREFIX}/{k}" for k in want_gallery],
            f"round {rnd + 1}: both buckets hold the same {n} keys under {PREFIX}/ after the "
            f"first publish (gallery {len(keys['gallery'])}, sync {len(keys['sync'])})",
        )

        noop = {tool: self.publish(tool, "noop", rnd, buckets[tool]) for tool in order}
        g = noop["gallery"]
        self.check(
            [(r.method, r.key) for r in g.requests] == [("GET", f"{PREFIX}/manifest.json")],
            f"round {rnd + 1}, no-op: gallery sent exactly 1 request, a GET of manifest.json "
            f"(got {len(g.requests)}: {', '.join(map(str, g.requests[:5]))})",
        )
        self.check(
            not noop["sync"].object_puts(),
            f"round {rnd + 1}, no-op: sync uploaded nothing "
            f"(got {len(noop['sync'].object_puts())} PUTs)",
        )

        before = inventory(self.site)
        shutil.rmtree(self.site)
        self.rebuilds.append(self.build(config, src))
        after = inventory(self.site)
        same = {k: v.md5 for k, v in before.items()} == {k: v.md5 for k, v in after.items()}
        changed = sum(k not in after or after[k].md5 != v.md5 for k, v in before.items())
        newer = sum(after[k].mtime_ns > before[k].mtime_ns for k in after if k in before)
        self.check(
            same,
            f"round {rnd + 1}: the rebuild has the same {n} files with the same MD5s "
            f"({len(after)} files; {changed} differ or are missing: did the code change "
            "during the run?)",
        )
        if not same:  # later checks are against what was actually built
            self.files = files = after
            want_gallery, n = sorted(files), len(files)
        self.check(
            newer == n, f"round {rnd + 1}: the rebuild gave all {n} files a newer mtime ({newer})"
        )
        self.check(
            (self.site / STATE_DIR).is_dir(),
            f"round {rnd + 1}: the rebuild started from nothing and wrote a new {STATE_DIR}/",
        )

        rebuilt = {tool: self.publish(tool, "rebuilt", rnd, buckets[tool]) for tool in order}
        g, s = rebuilt["gallery"], rebuilt["sync"]
        self.check(
            [(r.method, r.key) for r in g.requests] == [("GET", f"{PREFIX}/manifest.json")],
            f"round {rnd + 1}, after the rebuild: gallery sent exactly 1 request, a GET of "
            f"manifest.json (got {len(g.requests)})",
        )
        self.check(
            sorted(s.site_puts(files)) == want_gallery,
            f"round {rnd + 1}, after the rebuild: sync re-uploaded all {n} files "
            f"(got {len(s.site_puts(files))} PUTs)",
        )

    # -- extra measurements -----------------------------------------------------------------

    def startup(self, aws_cmd: list[str], repeat: int) -> dict[str, float]:
        cmds = {
            "gallery": [*self.gallery_cmd, "publish", "--help"],
            "sync": [*aws_cmd, "--version"],
        }
        return {
            tool: median(run_measured(cmd).seconds for _ in range(repeat))
            for tool, cmd in cmds.items()
        }

    def hosting_calls(self, repeat: int) -> tuple[float, int]:
        """Median wall time of the hosting-setup calls gallery makes on a new bucket
        (HEAD bucket, CreateBucket, PutPublicAccessBlock, PutBucketWebsite, GetBucketPolicy,
        PutBucketPolicy), made here with boto3 on an already created client: what they add
        to gallery's first publish, without the CLI around them."""
        import json

        from botocore.exceptions import ClientError

        client = s3_client(self.server.endpoint, REGION)
        client.list_buckets()  # open the connection first, as the CLI's earlier GET did
        times = []
        for i in range(repeat):
            bucket = f"hosting-probe-{i}-{int(time.time() * 1000) % 100000}"
            t0 = time.perf_counter()
            with contextlib.suppress(ClientError):
                client.head_bucket(Bucket=bucket)
            client.create_bucket(Bucket=bucket)
            client.put_public_access_block(
                Bucket=bucket,
                PublicAccessBlockConfiguration={
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": False,
                    "RestrictPublicBuckets": False,
                },
            )
            client.put_bucket_website(
                Bucket=bucket,
                WebsiteConfiguration={
                    "IndexDocument": {"Suffix": "index.html"},
                    "ErrorDocument": {"Key": f"{PREFIX}/error.html"},
                },
            )
            with contextlib.suppress(ClientError):
                client.get_bucket_policy(Bucket=bucket)
            policy = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{bucket}/{PREFIX}/*",
                    }
                ],
            }
            client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
            times.append(time.perf_counter() - t0)
        return median(times), 6


# --------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------


def fmt_counts(values: Iterable[int]) -> str:
    vals = sorted(set(values))
    if not vals:
        return "—"
    return str(vals[0]) if len(vals) == 1 else f"{vals[0]}–{vals[-1]}"


def fmt_speed(gallery: float, sync: float) -> str:
    if gallery <= 0 or sync <= 0:
        return "—"
    if gallery <= sync:
        return f"{sync / gallery:.2f}× faster"
    return f"{gallery / sync:.2f}× slower"


def report(
    bench: Bench,
    args: argparse.Namespace,
    versions: dict[str, str],
    photos: ph.PhotoSet,
    first_build: float,
    startup: dict[str, float],
    hosting: tuple[float, int],
) -> str:
    files = bench.files
    total = sum(f.size for f in files.values())
    images = sum(1 for k in files if Path(k).suffix in (".jpg", ".webp", ".png", ".avif"))
    now = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")

    def runs(key: str, tool: str) -> list[Run]:
        return [r for r in bench.runs if r.scenario == key and r.tool == tool]

    def med(key: str, tool: str, attr: str = "seconds") -> float:
        return median(getattr(r, attr) for r in runs(key, tool))

    lines = [
        f"## Publish: gallery-builder vs aws s3 sync ({now})",
        "",
        *machine_lines(),
        f"- Tools: gallery-builder {versions['gallery']} (boto3 {versions['boto3']}, botocore "
        f"{versions['botocore']}); {versions['aws']}; moto {versions['moto']} "
        "(`python -m moto.server` on 127.0.0.1, one process for both tools)",
        f"- Code: git commit {versions['git']}; gallery's S3 publisher imported from "
        f"`{versions['gallery_src']}`",
        f"- Concurrency, each tool's shipped default: gallery {versions['gallery_threads']} "
        "upload threads (`gallery_builder.publishing.publish(workers=...)`, botocore pool of "
        f"10 connections); aws s3 sync `max_concurrent_requests` = {versions['aws_threads']}",
        f"- Site: {len(photos.specs)} synthetic JPEG photos of {args.width}x{args.height} "
        f"({photos.total_bytes / 1e6:.0f} MB, in {min(args.albums, args.count)} albums), built "
        f"with the default image settings into **{len(files)} files, {total:,} bytes "
        f"({total / 1e6:.1f} MB)** ({images} images; pages, `_static/`, `manifest.json`); "
        f"first build {first_build:.1f} s with `-j {args.jobs}`, rebuilds "
        f"{', '.join(f'{s:.1f}' for s in bench.rebuilds)} s",
        f"- Each tool publishes into its own bucket under the prefix `{PREFIX}/`; sync skips "
        f"the build state (`--exclude '{STATE_DIR}/*'`); sync's bucket is created before "
        "scenario 1, outside the timing; gallery creates its own and sets up website hosting "
        "inside its timed run",
        f"- Timing: wall clock around each CLI process (Python start-up included), median of "
        f"{args.repeat} round(s); the server is reset before each round and the tools "
        "alternate which goes first",
        f"- Command: `{command_line()}`",
        f"- gallery runs as: `{bench.display_cmd('gallery')}`",
        f"- sync runs as: `{bench.display_cmd('sync')}`",
        "",
        "| scenario | gallery publish (s) | aws s3 sync (s) | gallery / sync time | gallery is |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for key, title in SCENARIOS:
        g, s = med(key, "gallery"), med(key, "sync")
        lines.append(
            f"| {title} | {g:.2f} | {s:.2f} | {g / s:.2f} | {fmt_speed(g, s)} |"
            if s > 0
            else f"| {title} | {g:.2f} | {s:.2f} | — | — |"
        )
    lines += [
        "",
        "Requests the server logged per run (the same in every round unless a range is shown), "
        "by method; *site files PUT* counts object PUTs of the site's own files and *MB* their "
        "local sizes (bytes uploaded, without HTTP overhead).",
        "",
        "| scenario | tool | requests | GET | PUT | POST | DELETE | HEAD | site files PUT | MB |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, title in SCENARIOS:
        for tool in TOOLS:
            rs = runs(key, tool)
            cells = [fmt_counts(len(r.requests) for r in rs)]
            cells += [fmt_counts(r.methods()[m] for r in rs) for m in METHODS]
            cells.append(fmt_counts(len(r.site_puts(files)) for r in rs))
            mbs = sorted({round(r.site_bytes(files) / 1e6, 1) for r in rs})
            cells.append("/".join(f"{v:.1f}" for v in mbs))
            lines.append(f"| {title} | {LABEL[tool]} | " + " | ".join(cells) + " |")

    lines += [
        "",
        "CPU seconds (user + system, median): the CLI's whole process tree, and the moto "
        "server while it ran.",
        "",
        "| scenario | gallery CLI | gallery: server | sync CLI | sync: server |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for key, title in SCENARIOS:
        lines.append(
            f"| {title} | {med(key, 'gallery', 'cpu'):.2f} | "
            f"{med(key, 'gallery', 'server_cpu'):.2f} | {med(key, 'sync', 'cpu'):.2f} | "
            f"{med(key, 'sync', 'server_cpu'):.2f} |"
        )

    first_g = runs("first", "gallery")[-1]
    groups = classify_gallery(first_g, files)
    seconds_each = hosting[0]
    lines += [
        "",
        "What gallery's first publish sends beyond the site's files:",
        "",
        f"- hosting setup, {len(groups['hosting'])} requests: "
        + ", ".join(f"`{r.method} {_short(r)}` ({r.status})" for r in groups["hosting"]),
        f"- publish protocol, {len(groups['protocol'])} requests: "
        + ", ".join(f"`{r.method} {_short(r)}` ({r.status})" for r in groups["protocol"]),
        f"- site files: {len(groups['files'])} PUTs (plus the conditional PUT of "
        "`manifest.json`, the commit, listed with the protocol)",
    ]
    if groups["other"]:
        lines.append(
            f"- other, {len(groups['other'])} requests: "
            + ", ".join(f"`{r.method} {_short(r)}` ({r.status})" for r in groups["other"][:10])
        )
    lines += [
        f"- the {hosting[1]} hosting calls take {seconds_each:.3f} s (median of {args.repeat}) "
        "when made with boto3 from an already running process on the same server",
        f"- CLI start-up, median of {args.repeat}: `gallery publish --help` "
        f"{startup['gallery']:.2f} s, `aws --version` {startup['sync']:.2f} s",
        "",
        "Sync's requests per scenario:",
        "",
    ]
    for key, title in SCENARIOS:
        s = runs(key, "sync")[-1]
        other = [r for r in s.requests if not (r.method == "PUT" and r.key)]
        lines.append(
            f"- {title}: {len(s.object_puts())} object PUTs; "
            + (", ".join(f"`{r.method} {_short(r)}` ({r.status})" for r in other[:6]) or "—")
        )

    lines += [
        "",
        "All runs (s), round by round; 1-minute load average as each round began: "
        + ", ".join(f"{v:.2f}" for v in bench.loads),
        "",
    ]
    for key, title in SCENARIOS:
        for tool in TOOLS:
            values = ", ".join(f"{r.seconds:.2f}" for r in runs(key, tool))
            lines.append(f"- {title}, {LABEL[tool]}: {values}")
    failed = [text for ok, text in bench.checks if not ok]
    lines += [
        "",
        f"Checks: {len(bench.checks) - len(failed)} of {len(bench.checks)} passed"
        + (":" if failed else f" ({CHECKS_SUMMARY})."),
    ]
    if failed:
        lines += ["", *[f"- **FAILED**: {text}" for text in failed]]
    lines += [
        "",
        "Output of the last round: "
        + "; ".join(
            f"{title[:2]} gallery `{runs(key, 'gallery')[-1].summary}`, "
            f"sync `{runs(key, 'sync')[-1].summary}`"
            for key, title in SCENARIOS
        ),
    ]
    return "\n".join(lines) + "\n"


def _short(r: Request) -> str:
    path = r.path
    if r.bucket and path.startswith(f"/{r.bucket}"):
        path = "/BUCKET" + path[len(r.bucket) + 1 :]
    query = re.sub(r"&?encoding-type=url", "", r.raw_query)
    return path + (f"?{query}" if query else "")


# --------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    cpus = os.cpu_count() or 1
    p = argparse.ArgumentParser(
        description="Time `gallery publish` against `aws s3 sync` on the same moto server.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--count", type=int, default=100, help="number of photos")
    p.add_argument("--width", type=int, default=1600, help="photo width (landscape)")
    p.add_argument("--height", type=int, default=1067, help="photo height (landscape)")
    p.add_argument("--albums", type=int, default=5, help="number of album folders")
    p.add_argument("--seed", type=int, default=1, help="generator seed")
    p.add_argument("--jobs", "-j", type=int, default=cpus, help="worker processes of the builds")
    p.add_argument("--repeat", type=int, default=3, help="rounds (medians are reported)")
    p.add_argument(
        "--workdir",
        type=Path,
        help="keep photos (cached between runs), the config and the site here "
        "(default: a temporary dir, removed at the end)",
    )
    p.add_argument("--output", type=Path, help="also append the Markdown report to this file")
    p.add_argument(
        "--gallery-cmd",
        help="how to invoke gallery-builder, e.g. 'python -m gallery_builder.cli' "
        "(default: the `gallery` script next to this Python, else on PATH)",
    )
    p.add_argument(
        "--aws-cmd", help="how to invoke aws-cli (default: the `aws` script, pyenv shims resolved)"
    )
    args = p.parse_args(argv)
    for name in ("count", "width", "height", "albums", "jobs", "repeat"):
        if getattr(args, name) < 1:
            p.error(f"--{name} must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.workdir:
        work = args.workdir.resolve()
        work.mkdir(parents=True, exist_ok=True)
        cleanup = False
    else:
        work = Path(tempfile.mkdtemp(prefix="publish-bench-"))
        cleanup = True
    t0 = time.perf_counter()
    try:
        isolate_aws_environment(work)
        gallery_cmd = find_gallery(args.gallery_cmd)
        aws_cmd, aws_version = find_aws(args.aws_cmd)
        versions = {
            "gallery": dist_version("gallery-builder"),
            "boto3": dist_version("boto3"),
            "botocore": dist_version("botocore"),
            "aws": aws_version,
            "moto": dist_version("moto"),
            "gallery_src": gallery_source_location(gallery_cmd),
            "gallery_threads": gallery_upload_threads(),
            "aws_threads": aws_concurrency(),
        }
        versions["git"] = git_state(code_root(versions["gallery_src"]))
        log(f"work dir: {work}")
        log(f"gallery: {shlex.join(gallery_cmd)} ({versions['gallery_src']})")
        log(f"aws: {shlex.join(aws_cmd)} ({aws_version})")

        specs = ph.plan_photos(
            args.count, (args.width, args.height), args.albums, args.seed, ph.SOURCE_QUALITY
        )
        cache = work / (
            f"photos-v{ph.GENERATOR_VERSION}-{args.width}x{args.height}-n{args.count}"
            f"-a{args.albums}-s{args.seed}"
        )
        photos = ph.ensure_photos(cache, specs, args.jobs, "photos")
        config = work / "publish-bench.toml"
        config.write_text(CONFIG)
        site = work / "site"
        shutil.rmtree(site, ignore_errors=True)

        with MotoServer() as server:
            bench = Bench(args, server, gallery_cmd, aws_cmd, site)
            first_build = bench.build(config, photos.src)
            bench.files = inventory(site)
            total = sum(f.size for f in bench.files.values())
            log(f"site: {len(bench.files)} files to publish, {total:,} bytes")
            for rnd in range(args.repeat):
                bench.round(rnd, config, photos.src)
            server.reset()
            hosting = bench.hosting_calls(args.repeat)
            startup = bench.startup(aws_cmd, args.repeat)
            text = report(bench, args, versions, photos, first_build, startup, hosting)
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if cleanup:
            shutil.rmtree(work, ignore_errors=True)
    log(f"total benchmark time {time.perf_counter() - t0:.0f} s")
    emit_report(text, args.output)
    failed = [t for ok, t in bench.checks if not ok]
    if failed:
        log(f"{len(failed)} check(s) failed (listed in the report)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
