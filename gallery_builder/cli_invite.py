"""``gallery invite [TARGET] [--expires 30d] [--note TEXT] [--revoke-all] [--list]``: links
to a private gallery (plugins/cloudfront_invite.py), signed offline with this machine's key;
``--revoke-all`` rotates the key through CloudFront so every earlier link stops working.
The link alone goes to stdout (``$(gallery invite)``), everything else to stderr."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.publish_settings import split_target
from gallery_builder.publisher_options import factory_options, given_on_command_line, option_values


@click.command()
@click.argument("target", required=False)
@click.option(
    "--expires", metavar="WHEN",
    help="How long the link works: 90m, 12h, 30d, 2w, or a date 2027-01-31 (through that "
    "day, UTC); at most 400 days. Default: 30d.",
)  # fmt: skip
@click.option("--note", metavar="TEXT", help="Who the link is for, kept in the local log.")
@click.option(
    "--revoke-all", is_flag=True,
    help="Replace the gallery's key: every earlier link stops working.",
)  # fmt: skip
@click.option("--list", "show_list", is_flag=True, help="List the links made on this machine.")
@click.option(
    "--site", type=click.Path(file_okay=False, path_type=Path), default=Path("_site"),
    show_default=True, help="Without TARGET: the built site whose [publish] target to use.",
)  # fmt: skip
@click.pass_obj
def invite(
    app: Any,
    target: str | None,
    expires: str | None,
    note: str | None,
    revoke_all: bool,
    show_list: bool,
    site: Path,
    **declared: Any,
) -> None:
    """Print an invitation link to the private gallery at TARGET (s3://bucket/prefix; default:
    [publish] target in the site's gallery.toml), made with `gallery publish --cdn cloudfront
    --private`. Signed offline with the gallery's private key on this machine; anyone with the
    link can open the gallery until it expires or the key is replaced (--revoke-all)."""
    from gallery_builder.cli import EXIT_USAGE, _fail

    # the options the installed publishers declare (gallery_builder/publisher_options.py):
    # the S3 client's, used by --revoke-all
    given = given_on_command_line(click.get_current_context(), declared)
    urls = (target, *(v for v in declared.values() if isinstance(v, str)))
    try:
        if show_list and (revoke_all or expires is not None or note is not None):
            raise SettingError("--list shows the links made: give it alone (with TARGET)")
        if revoke_all and (expires is not None or note is not None):
            raise SettingError(
                "--revoke-all makes no link: run gallery invite again after it for a new one"
            )
        if target is None:
            target, prefix, options = _from_settings(app.pm, site, declared, given)
        else:
            prefix = _target_prefix(target, None)
            options = factory_options(option_values(app.pm, target, "invite", declared, given))
        bucket = split_target(target).bucket
        if show_list:
            _show_list(bucket, prefix)
        elif revoke_all:
            _revoke_all(app, target, bucket, prefix, options)
        else:
            _invite(bucket, prefix, expires or "30d", note)
    except SettingError as exc:
        _fail(str(exc), EXIT_USAGE, urls=urls)
    except GalleryError as exc:
        _fail(str(exc), urls=urls)


def _invite(bucket: str, prefix: str, expires_text: str, note: str | None) -> None:
    from gallery_builder.plugins.cloudfront_invite import (
        Invitation,
        invitation_link,
        lifetime_words,
        parse_expires,
        record_invitation,
        utc_text,
    )

    now = datetime.now(UTC)
    expires = parse_expires(expires_text, now)
    key = _local_key(bucket, prefix)
    _refuse_retired(bucket, prefix)
    link = invitation_link(key, expires)
    record_invitation(bucket, prefix, Invitation(now, expires, note or None, key.public_key_id))
    click.echo(link)
    click.echo(f"valid until {utc_text(expires)} ({lifetime_words(expires, now)})", err=True)
    if note:
        click.echo(f"note: {_printable(note)}", err=True)


def _local_key(bucket: str, prefix: str) -> Any:
    from gallery_builder.plugins.cloudfront_keys import key_path, load_key

    key = load_key(bucket, prefix)
    if key is None:
        raise GalleryError(
            f"the private key of s3://{bucket}/{prefix} is not on this machine (looked for "
            f"{key_path(bucket, prefix)}): copy it from the machine that made the gallery "
            f"private, or run gallery invite --revoke-all here; every earlier link then stops "
            f"working"
        )
    return key


def _refuse_retired(bucket: str, prefix: str) -> None:
    from gallery_builder.plugins.cloudfront_keys import key_retired

    if key_retired(bucket, prefix):
        raise GalleryError(
            f"s3://{bucket}/{prefix} is not private any more (published with --no-private): "
            "anyone can open it without a link; publish it with --cdn cloudfront --private "
            "to make it private again, then make invitations"
        )


def _show_list(bucket: str, prefix: str) -> None:
    from gallery_builder.plugins.cloudfront_invite import (
        invitation_status,
        read_invitations,
        utc_text,
    )
    from gallery_builder.plugins.cloudfront_keys import invitations_path, key_retired, load_key

    key = load_key(bucket, prefix)
    retired = key_retired(bucket, prefix)
    current = key.public_key_id if key is not None else None
    invitations, unreadable = read_invitations(bucket, prefix)
    where = f"s3://{bucket}/{prefix}"
    log = invitations_path(bucket, prefix)
    if not invitations:
        click.echo(f"{where}: no invitations made on this machine ({log})", err=True)
    now = datetime.now(UTC)
    for invitation in invitations:
        status = "retired" if retired else invitation_status(invitation, current, now)
        words = [
            utc_text(invitation.when),
            f"until {utc_text(invitation.expires)}",
            f"{status:<7}",
            f"key {invitation.key_id}",
        ]
        if invitation.note:
            words.append(_printable(invitation.note))
        click.echo("  ".join(words))
    if unreadable:
        click.echo(f"warning: {unreadable} unreadable line(s) in {log} skipped", err=True)
    if retired:
        click.echo(
            f"note: {where} is not private any more (published with --no-private): its links "
            "are retired, and every page is readable by anyone",
            err=True,
        )
    elif key is None and invitations:
        click.echo(
            f"note: the key of {where} is not on this machine: which links still work is unknown",
            err=True,
        )


def _revoke_all(
    app: Any,
    target: str,
    bucket: str,
    prefix: str,
    options: dict[str, Any],
) -> None:
    from gallery_builder.plugins.cloudfront_keys import load_key
    from gallery_builder.publisher import Invites
    from gallery_builder.publishing import open_publisher

    where = f"s3://{bucket}/{prefix}"
    publisher = open_publisher(app.pm, where, **{**options, "cdn": "cloudfront"})
    if not isinstance(publisher, Invites):
        raise GalleryError(
            f"the publisher of {where} does not support invitations (a private gallery is "
            "published with --cdn cloudfront --private)"
        )
    try:
        old = load_key(bucket, prefix)
    except GalleryError:
        old = None  # a damaged key is what a rotation replaces
    new = publisher.revoke_invitations()
    for note in publisher.revocation_notes:  # what was done
        click.echo(f"note: {note}", err=True)
    replaced = f" (it replaces {old.public_key_id})" if old is not None else ""
    click.echo(
        f"{where}: a new key {new.public_key_id}{replaced}; every earlier invitation link "
        f"stops working once CloudFront has deployed the change; make new ones with: gallery "
        f"invite {where}",
        err=True,
    )


def _target_prefix(target: str, default_prefix: str | None) -> str:
    """The gallery's prefix in an s3:// TARGET (else ``default_prefix``); usage errors for
    any other target and for a gallery at the bucket root."""
    from gallery_builder.publish_checks import check_prefix  # here: not for every command

    parts = split_target(target)
    if parts.scheme != "s3" or "://" not in target:
        raise SettingError(
            f"gallery invite needs an s3://BUCKET/PREFIX target, not {target}: only a gallery "
            "published with --cdn cloudfront --private takes invitations"
        )
    prefix = parts.prefix or default_prefix
    if not prefix:
        raise SettingError(
            f"{target} has no prefix: a private gallery has its own folder, give "
            f"s3://{parts.bucket}/PREFIX"
        )
    check_prefix(prefix)
    return prefix


def _from_settings(
    pm: Any, site: Path, declared: Mapping[str, Any], given: Collection[str]
) -> tuple[str, str, dict[str, Any]]:
    """TARGET, the gallery's prefix (TARGET's, else the gallery's name, as ``gallery
    publish`` chooses) and the publisher options, from the built ``site``'s ``[publish]``."""
    from gallery_builder.cli_publish import resolve
    from gallery_builder.config import ConfigError
    from gallery_builder.manifest import read_site_manifest

    try:
        setup = resolve(site, None, pm, "invite", declared, given)
    except ConfigError as exc:
        raise SettingError(str(exc)) from None
    except SettingError as exc:
        raise SettingError(
            str(exc).replace("gallery publish s3://", "gallery invite s3://")
        ) from None
    name: str | None = None
    if split_target(setup.target).prefix is None:
        try:
            name = str(read_site_manifest(site)[0].get("name") or "") or None
        except GalleryError:
            name = None
    return setup.target, _target_prefix(setup.target, name), dict(setup.options)


def _printable(text: str) -> str:
    """A note as one line of plain text (no terminal control sequences from the log)."""
    return "".join(c if c.isprintable() else "?" for c in text)
