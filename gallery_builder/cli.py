"""The ``gallery`` command. Exit codes: 0 ok, 1 failure, 2 usage (bad flags or settings)."""

from __future__ import annotations

import errno
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import click

from gallery_builder import __version__, theming
from gallery_builder.build_settings import EXECUTORS
from gallery_builder.cli_verify import verify as verify_command
from gallery_builder.config import CONFIG_NAME, ConfigError, init_text, load_config
from gallery_builder.errors import GalleryError, PluginError, SettingError
from gallery_builder.passwords import PASSWORD_ENV, read_password
from gallery_builder.pipeline import build as build_site
from gallery_builder.plugin_answers import answers_by_plugin
from gallery_builder.plugin_manager import (
    GalleryPluginManager,
    describe_plugins,
    get_plugin_manager,
)
from gallery_builder.plugin_settings import plugin_settings_schemas
from gallery_builder.processors import choose_processor
from gallery_builder.progress import reporter_for
from gallery_builder.publisher_options import (
    PUBLISHER_COMMANDS,
    given_on_command_line,
    refusing,
    with_publisher_options,
)
from gallery_builder.redact import redact_urls

EXIT_FAILURE = 1
EXIT_USAGE = 2


@dataclass
class AppContext:
    pm: GalleryPluginManager


def _fail(message: str, code: int = EXIT_FAILURE, *, urls: tuple[str | None, ...] = ()) -> None:
    # a URL the user wrote (``urls``) or a library quotes may carry credentials: never shown
    click.echo(f"Error: {redact_urls(message, *urls)}", err=True)
    sys.exit(code)


def _fail_with(
    exc: GalleryError, verbose: bool, code: int = EXIT_FAILURE, *, urls: tuple[str | None, ...] = ()
) -> None:
    """``_fail`` for a GalleryError; with ``-v``, a plugin's failure first shows the traceback
    of what it raised (the one case where a traceback helps: it is the plugin author's bug)."""
    if verbose and isinstance(exc, PluginError):
        click.echo(redact_urls(exc.traceback_text().rstrip("\n"), *urls), err=True)
    _fail(str(exc), code, urls=urls)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gallery")
@click.option(
    "--block",
    multiple=True,
    metavar="PLUGIN",
    help="Leave out a plugin by name (repeatable; also GALLERY_BLOCK_PLUGINS=a,b).",
)
@click.pass_context
def cli(ctx: click.Context, block: tuple[str, ...]) -> None:
    """Turn a folder of pictures into a static web gallery."""
    if ctx.obj is None:
        try:
            ctx.obj = AppContext(pm=get_plugin_manager())
        except GalleryError as exc:
            _fail(str(exc))
    for name in block:
        ctx.obj.pm.set_blocked(name)


@cli.command()
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o", "--output", "out", type=click.Path(file_okay=False, path_type=Path),
    default=Path("_site"), show_default=True, help="Folder to write the site into.",
)  # fmt: skip
@click.option("--theme", help="A theme name or the path of a theme folder.")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
    help=f"Settings file (default: SOURCE/{CONFIG_NAME}).",
)  # fmt: skip
@click.option(
    "-j", "--jobs", type=click.IntRange(min=1),
    help="Worker processes for the images (default: one per CPU).",
)  # fmt: skip
@click.option(
    "--processor", metavar="NAME",
    help="The image processor that makes the images (default: [images] processor, pillow).",
)  # fmt: skip
@click.option(
    "--executor", type=click.Choice(EXECUTORS),
    help="Where the images are made: worker processes here, or a dask cluster "
    "(default: [build] executor, local).",
)  # fmt: skip
@click.option("--strict", is_flag=True, help="Fail (exit 1) if any picture is skipped.")
@click.option("--force", is_flag=True, help="Rebuild everything, ignoring the build state.")
@click.option("-q", "--quiet", is_flag=True, help="Print only warnings and errors.")
@click.option(
    "-v", "--verbose", is_flag=True,
    help="When a plugin fails, print the traceback of its error too.",
)  # fmt: skip
@click.option(
    "--password-file", type=click.Path(dir_okay=False, path_type=Path),
    help=f"Encrypt the gallery with the password on this file's first line (also {PASSWORD_ENV}).",
)  # fmt: skip
@click.option(
    "--no-encryption", is_flag=True,
    help="Build in the clear an output folder whose last build was encrypted.",
)  # fmt: skip
@click.pass_obj
def build(
    app: AppContext,
    source: Path,
    out: Path,
    theme: str | None,
    config_file: Path | None,
    jobs: int | None,
    executor: str | None,
    processor: str | None,
    strict: bool,
    force: bool,
    quiet: bool,
    verbose: bool,
    password_file: Path | None,
    no_encryption: bool,
) -> None:
    """Build the gallery of SOURCE (a folder of pictures; sub-folders are albums)."""
    try:
        schemas = plugin_settings_schemas(app.pm)
    except GalleryError as exc:  # a plugin's gallery_settings failed
        _fail_with(exc, verbose)
    try:
        config = load_config(source, config_file, settings=schemas, executor=executor)
        password = read_password(password_file, os.environ)
    except (ConfigError, SettingError) as exc:
        _fail(str(exc), EXIT_USAGE)
    if theme:
        config = config.with_theme(theme)
    reporter = reporter_for(sys.stderr, quiet=quiet)
    try:
        if processor is not None:  # checked here, so that an error names the option
            choose_processor(app.pm, config, processor)
            config = config.with_processor(processor)
        result = build_site(
            config, out, app.pm, jobs=jobs, force=force, strict=strict, reporter=reporter,
            password=password, no_encryption=no_encryption,
        )  # fmt: skip
    except SettingError as exc:
        _fail(str(exc), EXIT_USAGE)
    except GalleryError as exc:
        _fail_with(exc, verbose)
    except OSError as exc:  # the output folder or a file in it, most likely
        advice = ""
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            advice = "; make its folder writable, or choose another output folder (-o)"
        _fail(f"{exc.filename or out}: {exc.strerror or exc}{advice}")
    if not quiet:
        click.echo(f"{result.summary()}\nsite: {result.out_dir}")
    if result.pictures == 0 and not result.skipped:
        click.echo(f"warning: no pictures found in {source}", err=True)
    elif result.pictures == 0:
        click.echo(f"warning: none of the pictures in {source} could be used", err=True)


@cli.command()
@click.argument(
    "source", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option("--force", is_flag=True, help=f"Overwrite an existing {CONFIG_NAME}.")
def init(source: Path, force: bool) -> None:
    """Write a commented gallery.toml into SOURCE."""
    target = source / CONFIG_NAME
    if target.exists() and not force:
        _fail(f"{target} exists; use --force to overwrite it")
    try:
        target.write_text(init_text(source), encoding="utf-8")
    except OSError as exc:
        _fail(f"cannot write {target}: {exc.strerror}")
    click.echo(f"wrote {target}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def plugins(app: AppContext, as_json: bool) -> None:
    """List the active plugins, where they come from, the hooks they implement and the keys
    of their [plugins.NAME] table."""
    try:
        schemas = plugin_settings_schemas(app.pm)
    except GalleryError as exc:
        _fail(str(exc))
    rows = describe_plugins(app.pm)
    for row in rows:
        row["settings"] = list(schemas.get(row["name"], {}))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        origin = f"{row['distribution']} {row['version']}" if row["distribution"] else "(local)"
        click.echo(f"{row['name']:<16} {origin}")
        click.echo(f"{'':<16} hooks: {', '.join(row['hooks']) or '-'}")
        if row["settings"]:
            keys = ", ".join(row["settings"])
            click.echo(f"{'':<16} settings: [plugins.{row['name']}] {keys}")


@cli.command()
@click.pass_obj
def themes(app: AppContext) -> None:
    """List the installed themes and what each extends."""
    try:
        installed = theming.installed_themes(
            (plugin, folder)
            for plugin, folders in answers_by_plugin(app.pm, "gallery_themes")
            for folder in folders
        )
        for name in sorted(installed):
            chain = theming.theme_chain(name, installed)
            line = " -> ".join(t.name for t in chain)
            click.echo(f"{line:<24} {installed[name].description}".rstrip())
    except GalleryError as exc:
        _fail(str(exc))


@cli.command()
@click.argument("target", required=False)
@click.option(
    "--site", type=click.Path(file_okay=False, path_type=Path), default=Path("_site"),
    show_default=True, help="The built site to publish.",
)  # fmt: skip
@click.option(
    "-d", "--dest", "prefix", metavar="PREFIX",
    help="Key prefix to publish into (default: TARGET's, else the gallery's name).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Print the plan; send no write.")
@click.option(
    "--keep-stale",
    is_flag=True,
    help="Delete nothing the live gallery had (what a failed publish sent still goes).",
)
@click.option("--reconfigure", is_flag=True, help="Apply the hosting settings even if unchanged.")
@click.option(
    "--take-over", is_flag=True,
    help="Replace a manifest.json at the prefix that is not a gallery's; delete none of its files.",
)  # fmt: skip
@click.option(
    "--repair", is_flag=True,
    help="Check every file in the store; send again those missing or damaged.",
)  # fmt: skip
@click.option(
    "--no-encryption", is_flag=True,
    help="Replace a gallery published encrypted with this clear site (every page readable).",
)  # fmt: skip
@click.option(
    "-v", "--verbose", is_flag=True,
    help="List each uploaded file's URL; when a plugin fails, print its error's traceback.",
)  # fmt: skip
@click.pass_obj
def publish(
    app: AppContext,
    target: str,
    site: Path,
    prefix: str | None,
    dry_run: bool,
    keep_stale: bool,
    reconfigure: bool,
    take_over: bool,
    repair: bool,
    no_encryption: bool,
    verbose: bool,
    **declared: Any,
) -> None:
    """Publish the built site to TARGET: s3://bucket[/prefix], a bare bucket name, or
    file:///path (default: [publish] target in the site's gallery.toml). Sends only what
    changed; writes manifest.json last."""
    # publishing's machinery is imported here, by the command that uses it, not by every one
    from gallery_builder.cli_publish import placement_warning
    from gallery_builder.cli_publish import resolve as resolve_publish
    from gallery_builder.manifest import read_site_manifest
    from gallery_builder.publish_checks import check_prefix
    from gallery_builder.publisher import NamesPrefix, PublicUrls, SetsUpHosting
    from gallery_builder.publishing import open_publisher
    from gallery_builder.publishing import publish as publish_site

    # the options the installed publishers declare (gallery_builder/publisher_options.py)
    given = given_on_command_line(click.get_current_context(), declared)
    urls = (target, *_urls_in(declared))
    try:
        manifest, _ = read_site_manifest(site)
        setup = resolve_publish(site, target, app.pm, "publish", declared, given)
        target = setup.target
        urls = (target, *_urls_in(declared))
        publisher = open_publisher(app.pm, target, **setup.options)
        dest = prefix is not None
        if prefix is None:
            hint = publisher.prefix_hint if isinstance(publisher, NamesPrefix) else None
            prefix = hint or manifest.get("name") or ""
        prefix = str(prefix).removesuffix("/")  # "trips/" is "trips"; "/trips" is refused
        check_prefix(prefix)
        warning = placement_warning(manifest.get("base_path"), prefix, setup, dest)
        if warning and not dry_run:
            click.echo(f"warning: {redact_urls(warning, target)}", err=True)
        if setup.ignored and not dry_run:
            click.echo(f"note: {redact_urls(setup.ignored_note(), target)}", err=True)

        # a publisher may give public URLs (optional): else keys are shown under its location
        public = publisher if isinstance(publisher, PublicUrls) else None
        url_of = public.url if public else lambda key: publisher.location + quote(key, safe="/")

        def on_upload(key: str) -> None:
            if verbose:
                click.echo(f"uploaded {url_of(key)}")

        result = publish_site(
            site, publisher, prefix, dry_run=dry_run, keep_stale=keep_stale,
            reconfigure=reconfigure, take_over=take_over, on_upload=on_upload, repair=repair,
            replace_encrypted=no_encryption, pm=app.pm,
        )  # fmt: skip
    except (SettingError, ConfigError) as exc:
        _fail(str(exc), EXIT_USAGE, urls=urls)
    except GalleryError as exc:
        _fail_with(exc, verbose, urls=urls)
    if dry_run:
        for line in result.hosting_plan:
            click.echo(f"hosting: {line}")
        for line in [*map(redact_urls, setup.lines()), *result.plan.lines()]:
            click.echo(line)
        for path in result.invalidations:
            click.echo(f"invalidate: {path}")
        click.echo(f"dry run: {len(result.plan.uploads)} to upload, "
                   f"{len(result.plan.deletes)} to delete; nothing sent")  # fmt: skip
        return
    for note in result.notes:
        click.echo(f"warning: {redact_urls(note, *urls)}", err=True)
    click.echo(result.summary())
    if isinstance(publisher, SetsUpHosting):  # e.g. a CDN's id
        for line in publisher.hosting_lines():
            click.echo(line)
    base = f"{prefix}/" if prefix else ""
    root = public.website_url() if public else None  # None: none applies (not AWS)
    if root:
        click.echo(f"website: {root}")
    click.echo(f"gallery: {url_of(base)}")
    click.echo(f"manifest: {url_of(base + 'manifest.json')}")


@cli.command()
@click.argument("site", default="_site", metavar="[SITE]")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="Port to listen on (0: any free port).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback: this machine only).")  # fmt: skip
@click.option("--timeout", type=click.FloatRange(min=0.1), default=15.0, show_default=True,
              help="Seconds before an idle connection, or one slow to send its request, "
                   "is closed.")  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="Log each request.")
def serve(site: str, port: int, host: str, timeout: float, verbose: bool) -> None:
    """Preview SITE (a built site, default ./_site, or a file:// publish target) the way S3
    website hosting serves it: /album/ gives album/index.html, /album redirects to /album/,
    a missing page answers 404 with the gallery's error.html."""
    from gallery_builder.manifest import read_site_manifest
    from gallery_builder.serve import SiteFolder, TargetFolder, make_server

    try:
        if site.startswith("file://"):
            source: SiteFolder | TargetFolder = TargetFolder(Path(unquote(urlsplit(site).path)))
            mount = "/"
        else:
            manifest, _ = read_site_manifest(Path(site))
            mount = site_path(manifest)
            source = SiteFolder(Path(site), mount)
        server = make_server(source, host, port, timeout)
    except SettingError as exc:
        _fail(str(exc), EXIT_USAGE)
    except GalleryError as exc:
        _fail(str(exc))
    server.verbose = verbose  # type: ignore[attr-defined]
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    click.echo(f"serving {site} at http://{shown}:{bound_port}{mount} (Ctrl+C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


cli.add_command(verify_command)


def site_path(manifest: dict) -> str:
    """The URL path a built gallery was built to be served at (``[gallery] base_url``, by
    default ``/<name>/``, where gallery publish puts it), decoded."""
    base = manifest.get("base_path")
    if isinstance(base, str) and base.startswith("/"):
        return unquote(base)
    name = manifest.get("name") or ""
    return f"/{name}/" if name else "/"


from gallery_builder.cli_unpublish import unpublish  # noqa: E402

cli.add_command(unpublish)

from gallery_builder.cli_invite import invite  # noqa: E402

cli.add_command(invite)


def make_cli(pm: GalleryPluginManager) -> click.Group:
    """A ``gallery`` group with the built-in commands and those ``pm``'s plugins add."""
    group = click.Group(
        name="gallery",
        commands=dict(cli.commands),
        callback=cli.callback,
        params=list(cli.params),
        help=cli.help,
        context_settings=cli.context_settings,
    )
    commands = [group.commands[name] for name in PUBLISHER_COMMANDS]
    try:  # every installed publisher's options, on the commands that open a publisher
        made = {c.name: with_publisher_options(c, pm) for c in commands}
    except GalleryError as exc:  # publishers that disagree: those commands say so when run
        made = {c.name: refusing(c, exc) for c in commands}
    group.commands.update(made)
    pm.hook.gallery_register_commands(cli=group)
    return group


def _urls_in(options: dict[str, Any]) -> list[str]:
    """The option values that may be URLs the user wrote (an endpoint's), for redaction."""
    return [value for value in options.values() if isinstance(value, str)]


def blocked_in(argv: list[str]) -> list[str]:
    """The ``--block NAME`` options before the command: known before the plugins load, so a
    blocked plugin's commands are left out too."""
    names: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--block":
            names.append(next(words, ""))
        elif word.startswith("--block="):
            names.append(word.partition("=")[2])
        elif not word.startswith("-"):
            break
    return [name for name in names if name]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        pm = get_plugin_manager(block=blocked_in(argv))
        for problem in pm.load_errors:
            click.echo(f"warning: {problem}", err=True)
        group = make_cli(pm)
    except GalleryError as exc:  # a plugin implements a hook that does not exist, or failed
        _fail(str(exc))  # in gallery_register_commands
    group.main(args=argv, prog_name="gallery", obj=AppContext(pm=pm))
