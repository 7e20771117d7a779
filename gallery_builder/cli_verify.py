"""``gallery verify [TARGET | URL]``: check a live gallery against its manifest. Exit codes:
0 clean (warnings allowed), 1 a problem found (each named), 2 bad usage."""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urljoin

import click

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.publish_settings import split_target
from gallery_builder.publisher_options import factory_options, given_on_command_line, option_values
from gallery_builder.redact import redact_urls

if TYPE_CHECKING:
    from gallery_builder.verify import Report

# The checks (http.client, ssl, the publishing machinery) are imported when ``gallery verify``
# runs, not by every command: ``gallery build`` imports this module for the command's options.


def _is_url(target: str) -> bool:
    return target.lower().startswith(("http://", "https://"))


def run_verify(
    pm: Any,
    target: str,
    *,
    prefix: str | None = None,
    options: Mapping[str, Any] | None = None,
    warn_days: int = 30,
    sample_n: int | None = None,
    api_only: bool = False,
    default_prefix: str = "",
) -> Report:
    """Every check of the gallery at ``target`` (s3://, file://, a bare bucket name, or an
    http(s) URL), its publisher made with ``options`` (those it declares); raises GalleryError
    (SettingError for bad usage) when it cannot check."""
    from gallery_builder.publish_checks import check_prefix
    from gallery_builder.publisher import NamesPrefix
    from gallery_builder.publishing import open_publisher
    from gallery_builder.verify import Problem, Report, public_url
    from gallery_builder.verify_http import HttpVerifier, base_url
    from gallery_builder.verify_private import key_group_of, verify_private
    from gallery_builder.verify_store import verify_store

    if prefix is not None:
        prefix = prefix.removesuffix("/")
        check_prefix(prefix)
    if _is_url(target):
        base = base_url(target)
        if prefix:
            base = urljoin(base, quote(prefix) + "/")
        report = Report(base)
        HttpVerifier(base, report, sample_n=sample_n, warn_days=warn_days).run()
        return report
    publisher = open_publisher(pm, target, **(options or {}))
    if prefix is None:
        hint = publisher.prefix_hint if isinstance(publisher, NamesPrefix) else None
        prefix = str(hint or default_prefix)
    report = Report(publisher.location + (f"{prefix}/" if prefix else ""))
    live = verify_store(publisher, prefix, report, sample_n=sample_n)
    url = public_url(live.hosting, prefix) if live is not None else None
    if url and not api_only and live is not None:
        report.notes.append(f"public URL: {url}")
        private = key_group_of(live.hosting)
        key = _local_key(target, prefix) if private else None  # a damaged one: an error
        try:
            if private:
                verify_private(url, report, live, key, sample_n=sample_n, warn_days=warn_days)
            else:
                HttpVerifier(url, report, sample_n=sample_n, warn_days=warn_days).run(
                    expected_manifest=live.data
                )
        except GalleryError as exc:  # what the API found still counts
            report.problems.append(
                Problem("unreachable", url, "an HTTP answer", str(exc), "check the public URL")
            )
    return report


def _local_key(target: str, prefix: str) -> Any:
    """This machine's key of the private gallery (plugins/cloudfront_keys.py), or None: keys
    are kept by the bucket an ``s3://`` TARGET names and the prefix, as gallery invite reads
    them."""
    parts = split_target(target)
    if parts.scheme != "s3":
        return None
    from gallery_builder.plugins.cloudfront_keys import load_key

    return load_key(parts.bucket, prefix)


@click.command()
@click.argument("target", metavar="[TARGET | URL]", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "-d", "--dest", "prefix", metavar="PREFIX",
    help="The gallery's prefix (default: TARGET's, else the root).",
)  # fmt: skip
@click.option(
    "--warn-days", type=click.IntRange(min=0), default=30, show_default=True,
    help="Warn when the certificate expires within this many days.",
)  # fmt: skip
@click.option(
    "--sample", "sample_n", type=click.IntRange(min=1), metavar="N",
    help="Check N of the files (spread over the gallery), not all.",
)  # fmt: skip
@click.option("--api-only", is_flag=True, help="For TARGET: skip the checks over HTTP.")
@click.option(
    "--site", type=click.Path(file_okay=False, path_type=Path), default=Path("_site"),
    show_default=True, help="Without TARGET: the built site whose [publish] target to check.",
)  # fmt: skip
@click.pass_obj
def verify(
    app: Any,
    target: str | None,
    as_json: bool,
    prefix: str | None,
    warn_days: int,
    sample_n: int | None,
    api_only: bool,
    site: Path,
    **declared: Any,
) -> None:
    """Check the live gallery at TARGET (s3://bucket[/prefix], file:///path) or URL
    (a website, CloudFront or gallery serve URL) against its manifest: every file there with
    its MD5, content type and cache policy; folder URLs, the slash redirect, a real 404; for
    https, the redirect from http, HSTS and the certificate. Exit 1 names each problem."""
    # the options the installed publishers declare (gallery_builder/publisher_options.py)
    given = given_on_command_line(click.get_current_context(), declared)
    default_prefix = ""
    options: dict[str, Any] | None = None
    if not target:  # the site's [publish] target, where gallery publish puts it
        target, default_prefix, options = _from_settings(app.pm, site, declared, given)
    urls = (target, *(v for v in declared.values() if isinstance(v, str)))
    try:
        if options is None:  # TARGET given: the command line's options alone, as always
            found = option_values(app.pm, target, "verify", declared, given)
            options = factory_options(found)
        report = run_verify(
            app.pm, target, prefix=prefix, options=options, warn_days=warn_days,
            sample_n=sample_n, api_only=api_only, default_prefix=default_prefix,
        )  # fmt: skip
    except SettingError as exc:
        _fail(redact_urls(str(exc), *urls), 2)
    except GalleryError as exc:
        from gallery_builder.verify import Problem, Report

        message = redact_urls(str(exc), *urls)
        if as_json:  # a monitoring system still gets its JSON
            report = Report(redact_urls(target, *urls))
            report.problems.append(Problem("error", report.target, advice=message))
            click.echo(report.dumps())
        _fail(message, 1)
    if as_json:
        click.echo(redact_urls(report.dumps(), *urls))
    else:
        for problem in report.problems:
            click.echo(f"problem: {redact_urls(problem.line(), *urls)}")
        for warning in report.warnings:
            click.echo(f"warning: {redact_urls(warning.line(), *urls)}")
        for note in report.notes:
            click.echo(redact_urls(note, *urls))
        click.echo(redact_urls(report.summary(), *urls))
    sys.exit(0 if report.ok else 1)


def _from_settings(
    pm: Any, site: Path, declared: Mapping[str, Any], given: Collection[str]
) -> tuple[str, str, dict[str, Any]]:
    """TARGET, the prefix to use when TARGET names none (the gallery's name, as ``gallery
    publish`` chooses) and the publisher's options, from the built ``site``'s settings."""
    from gallery_builder.cli_publish import resolve
    from gallery_builder.config import ConfigError
    from gallery_builder.manifest import read_site_manifest

    try:
        setup = resolve(site, None, pm, "verify", declared, given)
        name = str(read_site_manifest(site)[0].get("name") or "")
    except (SettingError, ConfigError) as exc:
        _fail(
            f"{exc}".replace("gallery publish s3://", "gallery verify s3://")
            + " (or give a URL to check)",
            2,
        )
    except GalleryError as exc:
        _fail(str(exc), 2)
    return setup.target, name, setup.options


def _fail(message: str, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)
