"""Every hook of gallery-builder, in the order a build calls them.

A hook that picks one answer is ``firstresult``: the first implementation that returns
something other than ``None`` wins, and the built-in one is ``trylast``, so any plugin can
override it. A hook that collects returns a list (or dict) that the core merges. Hooks run in
the main process only; heavy work runs in plain functions on the executor a plugin chooses
(:func:`gallery_executor`).

To amend rather than replace a ``firstresult`` answer, write a wrapper::

    @hookimpl(wrapper=True)
    def gallery_read_metadata(source, config):
        metadata = yield
        return dataclasses.replace(metadata, extra={**metadata.extra, "rating": 5})

The names below are the reference: docs/hooks.md has one section per hook, and a test fails
when a hook lacks a section or a test.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click
    import jinja2

    from gallery_builder.config import Config
    from gallery_builder.model import (
        Album,
        DerivativeSpec,
        ExtraFile,
        ImageProcessor,
        ImageStep,
        Metadata,
        Page,
        Picture,
        Site,
        Source,
    )
    from gallery_builder.plugin_settings import Setting
    from gallery_builder.publisher import Publisher, PublishPlan, PublishResult

hookspec = pluggy.HookspecMarker("gallery_builder")


# --- Registration: called once when the CLI or the build starts ------------------------------


@hookspec
def gallery_register_commands(cli: click.Group) -> None:
    """Add click commands to the ``gallery`` command group (``cli.add_command(...)``)."""


@hookspec
def gallery_themes() -> list[Path]:
    """Folders of themes this plugin provides; each holds a ``theme.toml`` (a folder that is
    missing, empty or without one is an error naming the plugin)."""


@hookspec
def gallery_publishers() -> dict[str, Any]:
    """Publishers this plugin provides, as ``{url_scheme: publisher_factory}``.

    ``gallery publish s3://…`` picks the factory registered for ``s3``. Two plugins claiming
    one scheme is an error that names both. A factory may carry ``check_target(target)``,
    raising ``SettingError`` for a malformed target: ``gallery build`` runs it on
    ``[publish] target``; and ``options``, a list of ``click.Option``: the commands that open
    a publisher take them, and the factory is given only its own, as keyword arguments
    (docs/publishing.md, "Options a publisher declares").
    """


@hookspec
def gallery_settings() -> dict[str, Setting]:
    """The keys of this plugin's ``[plugins.NAME]`` table in gallery.toml, as
    ``{key: gallery_builder.plugin_settings.Setting(default, help=..., check=...)}``.

    NAME is the plugin's registered name (its entry-point name). The core checks the table
    (an unknown key or a bad value is an error naming the file and line) and gives every
    hook the values, defaults filled in, as ``config.plugins[NAME]``. They are part of the
    build's fingerprint: changing one re-renders the site.
    """


@hookspec
def gallery_image_processors() -> list[ImageProcessor]:
    """Ways of making a picture's derivatives (:class:`~gallery_builder.model.ImageProcessor`),
    chosen by name with ``[images] processor`` or ``gallery build --processor NAME``.

    Collecting: every plugin's processors are merged; two with one name are an error naming
    both plugins. Only the chosen processor's ``probe`` is called, once per build in the main
    process; it returns a :class:`~gallery_builder.model.ProcessorInfo` (its version, part of
    every derivative's cache key, and the formats it can write here) or raises
    :class:`~gallery_builder.errors.ProcessorUnavailable` saying why and how to install what
    it needs. Its ``worker`` (``"package.module:function"``) is what the executor runs for each
    picture, ``function(job: ImageJob) -> ImageResult``. Built-in: ``images`` offers
    ``"pillow"``.
    """


# --- The build pipeline, in order ------------------------------------------------------------


@hookspec
def gallery_scan(config: Config, exclude: list[Path]) -> list[Source]:
    """Find the candidate files of a build.

    Collecting: every plugin's sources are merged (the first to claim a ``relpath`` keeps it).
    The built-in scan walks ``config.source``: hidden files and folders are left out, as are
    the folders in ``exclude`` (the output folder, when it sits inside the source); symlinks
    are followed only when they stay inside the source; loops are cut.
    """


@hookspec(firstresult=True)
def gallery_identify(source: Source, config: Config) -> str | None:
    """Say what a file is, by its content: a Pillow format name ("JPEG", "PNG", …) for a
    picture, ``""`` for a file that is not a picture, or ``None`` to let the next plugin say.

    Called only for files that are new or changed since the last build. A file whose name
    promises a picture (``.jpg``) but whose content is not one is reported as skipped.
    """


@hookspec(firstresult=True)
def gallery_fingerprint(source: Source, config: Config) -> str | None:
    """The hex MD5 of a picture's content (MD5, because S3 ETags use it).

    Called only when the file's size or mtime changed since the last build.
    """


@hookspec(firstresult=True)
def gallery_read_metadata(source: Source, config: Config) -> Metadata | None:
    """A picture's :class:`~gallery_builder.model.Metadata`, read without decoding pixels:
    displayed width and height, date taken, camera, caption (sidecar text first, then EXIF).

    Raise :class:`gallery_builder.errors.BadPicture` with a reason to skip the picture.
    Called only for new or changed pictures (or when a caption sidecar changed).
    """


@hookspec
def gallery_derivative_specs(
    source: Source, metadata: Metadata, config: Config
) -> list[DerivativeSpec]:
    """The images to make from one picture.

    Collecting: the built-in images plugin asks for one cropped thumbnail and one image per
    configured size, each in every configured format. Two specs with one ``key`` are an error.
    Each spec's settings (its encoder options included), the source's MD5 and the image
    processor's name and version make the derivative's cache key, so changing a setting
    remakes exactly the derivatives it shapes.
    """


@hookspec
def gallery_image_steps(source: Source, metadata: Metadata, config: Config) -> list[ImageStep]:
    """Changes to make to the pixels of every image of one picture (a watermark, a
    copyright line), as :class:`~gallery_builder.model.ImageStep` objects.

    Collecting, in the main process, once per picture on every build that looks at its
    images. Each step names a function (``"package.module:function"``) that the worker
    imports and calls as ``function(image, spec, **params)`` on each derivative's image, after
    decode, EXIF orientation, colour conversion and resize, before encode, in plugin order;
    it returns the image to encode (a ``PIL.Image.Image``). A step's function, params,
    version and its plugin's version are part of each derivative's cache key: changing a
    step's params remakes exactly the images it shapes. An exception in a step stops the
    build with a :class:`~gallery_builder.errors.PluginError` naming the plugin and the
    picture; the picture is not reported as broken.
    """


@hookspec(firstresult=True)
def gallery_executor(config: Config, jobs: int | None) -> Executor | None:
    """The :class:`concurrent.futures.Executor` that runs the image work.

    The built-in answer is a process pool of ``jobs`` workers (default: one per CPU). Work is
    submitted as ``gallery_builder.processors.run_job(job)`` over plain data (it calls the
    chosen image processor's worker, ``job.processor``), so any executor that can pickle a
    function and a dataclass works. The core shuts it down.
    """


@hookspec(firstresult=True)
def gallery_album_tree(pictures: list[Picture], config: Config) -> Album | None:
    """Arrange the built pictures into the root :class:`~gallery_builder.model.Album`.

    The built-in answer makes one album per folder (nested like the source), sorted by date
    taken then name, each with a cover; folders with no picture below them are left out.
    """


@hookspec
def gallery_static_folders() -> list[Path]:
    """Folders of static files this plugin ships (stylesheets, scripts, fonts).

    Collecting. Each file is published under ``_static/`` with a content hash in its name,
    like the theme's, and reached from a template with ``static("name")``; a theme's file of
    the same name wins. Each folder must exist; its files are part of the no-op fingerprint.
    """


@hookspec
def gallery_pages(site: Site, config: Config) -> list[Page]:
    """Pages to render. Collecting: the built-in render plugin gives one ``index.html`` per
    album and ``error.html``; return more :class:`~gallery_builder.model.Page` objects to add
    extra pages (a map, an about page, a feed) rendered from your theme's templates (or
    :func:`gallery_template_folders`). A page's ``content_type`` (``"application/atom+xml"``)
    is what it is served as; by default, what its extension says.
    """


@hookspec
def gallery_template_folders() -> list[Path]:
    """Folders of Jinja2 templates this plugin ships (for the pages it adds).

    Collecting. Searched after the theme chain, so a theme's template of the same name wins
    (a theme may restyle a plugin's page). Each folder must exist; its files are part of the
    no-op fingerprint. Called once per build.
    """


@hookspec
def gallery_jinja_environment(environment: jinja2.Environment, config: Config) -> None:
    """Prepare the pages' Jinja2 environment: add filters, globals and tests
    (``environment.filters["name"] = function``). Called once per build that renders, after
    the environment is made and before the first page. Pages render in a forked worker that
    inherits the environment: what is added here works there, but a change a filter makes to
    the build's state while rendering is not seen by the build.
    """


@hookspec
def gallery_template_context(page: Page, site: Site, config: Config) -> dict[str, Any]:
    """Extra variables for a page's template. Collecting: dicts are merged over the core's
    context (``site``, ``album``, ``page``, ``config``, ``gallery``, URL helpers such as
    ``url``, ``static``, ``image`` and ``srcset``: the full list is in docs/themes.md)."""


@hookspec(firstresult=True)
def gallery_render_page(
    page: Page, context: dict[str, Any], environment: jinja2.Environment
) -> str | None:
    """Render one page to text. The built-in answer renders ``page.template`` with Jinja2,
    autoescape on."""


@hookspec
def gallery_site_files(site: Site, config: Config) -> list[ExtraFile]:
    """Files to add to the site as they are: bytes, or a file the plugin wrote
    (:class:`~gallery_builder.model.ExtraFile`).

    Collecting. Called once per build that has work to do, after every page is written
    (``site.files`` lists them). Each file is written only when its bytes change, listed in
    the manifest with its content type and cache policy, and removed when a later build no
    longer returns it. A path outside the site, or one another output (a page, an image,
    another plugin's file) already has, is an error naming the plugin.
    """


@hookspec
def gallery_manifest_fields(site: Site, config: Config) -> dict[str, Any]:
    """Extra top-level fields for ``manifest.json``. Collecting: merged in; a plugin may not
    replace a field of the core schema (``format``, ``files``, ``images``, …)."""


# --- Publishing: called by gallery publish, around the writes of one publish -----------------


@hookspec
def gallery_before_publish(
    publisher: Publisher, prefix: str, plan: PublishPlan, site: Path
) -> None:
    """Called once the publish is planned and checked (other galleries' keys included),
    before its first write: ``plan`` says what goes (``plan.uploads``, ``plan.deletes``),
    ``site`` is the built site being published to ``publisher`` under ``prefix``.

    Not called for ``--dry-run``, nor when there is nothing to send. Raising GalleryError
    stops the publish with nothing sent (its message is the user's ``Error:`` line): e.g. a
    policy check ("no picture over 20 MB", "never publish on Fridays").
    """


@hookspec
def gallery_after_publish(publisher: Publisher, prefix: str, result: PublishResult) -> list[str]:
    """Called after a publish that sent something: its manifest is live, the deletes and
    the CDN invalidation (if any) are done, and the bucket root rebuilt. ``result`` says what
    went (``result.uploaded``, ``result.deleted``). Returns notes, printed as warnings (or
    ``None``). The gallery is live whatever happens here: raise nothing for a failure the
    user can fix later; say it in a note.
    """
