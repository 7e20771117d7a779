"""``gallery unpublish TARGET [-d PREFIX] [--dry-run]``: remove a published gallery
(gallery_builder.unpublishing), then rebuild the bucket root's listing."""

from __future__ import annotations

from typing import Any

import click

from gallery_builder import theming
from gallery_builder.errors import GalleryError, SettingError
from gallery_builder.publisher_options import factory_options, given_on_command_line, option_values
from gallery_builder.redact import redact_urls


@click.command()
@click.argument("target")
@click.option(
    "-d", "--dest", "prefix", metavar="PREFIX",
    help="The prefix of the gallery to remove (default: TARGET's, s3://bucket/PREFIX).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; send no write.")
@click.pass_obj
def unpublish(
    app: object,
    target: str,
    prefix: str | None,
    dry_run: bool,
    **declared: Any,
) -> None:
    """Remove the gallery published at TARGET (s3://bucket/prefix, or file:///path with
    -d PREFIX): exactly the files its manifest.json lists, manifest.json last; no file another
    gallery owns. Then the bucket root's listing is rebuilt."""
    from gallery_builder.cli import EXIT_USAGE, _fail
    from gallery_builder.publish_checks import check_prefix
    from gallery_builder.publisher import NamesPrefix
    from gallery_builder.publishing import open_publisher  # here: not for every command
    from gallery_builder.unpublishing import unpublish as unpublish_gallery

    # the options the installed publishers declare (gallery_builder/publisher_options.py)
    given = given_on_command_line(click.get_current_context(), declared)
    urls = (target, *(v for v in declared.values() if isinstance(v, str)))
    try:
        found = option_values(app.pm, target, "unpublish", declared, given)  # type: ignore[attr-defined]
        publisher = open_publisher(app.pm, target, **factory_options(found))  # type: ignore[attr-defined]
        if prefix is None and isinstance(publisher, NamesPrefix):
            prefix = publisher.prefix_hint
        if prefix is None:
            raise SettingError(
                "name the gallery to remove: s3://bucket/PREFIX, or -d PREFIX (-d '' for a "
                "gallery at the bucket root)"
            )
        prefix = str(prefix).removesuffix("/")
        if prefix:
            check_prefix(prefix)
        folders = [f for group in app.pm.hook.gallery_themes() for f in group or []]  # type: ignore[attr-defined]
        try:
            themes = theming.installed_themes(folders)
        except GalleryError:
            themes = {}
        result = unpublish_gallery(publisher, prefix, dry_run=dry_run, themes=themes)
    except SettingError as exc:
        _fail(str(exc), EXIT_USAGE, urls=urls)
    except GalleryError as exc:
        _fail(str(exc), urls=urls)
    where = f"{result.location}{prefix + '/' if prefix else ''}"
    if dry_run:
        for line in result.lines():
            click.echo(line)
        click.echo(f"dry run: {len(result.deletes)} to delete; nothing sent")
        return
    for note in result.notes:
        click.echo(f"warning: {redact_urls(note, *urls)}", err=True)
    click.echo(f"{where}: removed ({len(result.deletes)} deleted, {len(result.kept)} kept)")
