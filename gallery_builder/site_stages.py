"""The build's stages that write the site's files once the images are made, in order: the
static files (the theme's and plugins'), the pages, the files plugins add as they are, and the
manifest, last. Each returns what it made; :func:`gallery_builder.pipeline.build` calls them.
"""

from __future__ import annotations

import hashlib
import posixpath

import jinja2

from gallery_builder import keylength, manifest, theming
from gallery_builder.config import Config
from gallery_builder.errors import GalleryError, ThemeError
from gallery_builder.extra_files import check_extra_files, write_extra_files
from gallery_builder.model import IMMUTABLE, REVALIDATE, Page, Site
from gallery_builder.originals import place_originals
from gallery_builder.plugin_answers import answers_by_plugin
from gallery_builder.plugin_manager import GalleryPluginManager, collected
from gallery_builder.rendering import albums_by_path, page_context
from gallery_builder.sitefiles import SiteWriter

STATIC_DIR = "_static"


def site_assets(theme: theming.SiteTheme, writer: SiteWriter) -> dict[str, str]:
    """Write the theme's and plugins' static files under content-hashed names; ``{name:
    site path}``."""
    assets = {}
    for name, path in theme.assets().items():
        data = path.read_bytes()
        stem, ext = posixpath.splitext(name)
        target = f"{STATIC_DIR}/{stem}.{hashlib.md5(data).hexdigest()[:8]}{ext}"
        assets[name] = target
        writer.write(target, data, cache_control=IMMUTABLE)
    return assets


def pages(
    pm: GalleryPluginManager,
    config: Config,
    site: Site,
    theme: theming.SiteTheme,
    writer: SiteWriter,
) -> list[Page]:
    """Collect the pages, put the originals in place, render and write every page."""
    pages: list[Page] = collected(pm.hook.gallery_pages(site=site, config=config))
    keylength.check_keys([*site.files, *(page.path for page in pages)], config.gallery.name)
    place_originals(site.pictures, pages, writer)
    render_pages(pm, config, site, theme, writer, pages)
    return pages


def extra_files(
    pm: GalleryPluginManager, config: Config, site: Site, writer: SiteWriter
) -> list[str]:
    """Write the files plugins add as they are (``gallery_site_files``); their paths."""
    answers = answers_by_plugin(pm, "gallery_site_files", site=site, config=config)
    files = check_extra_files(answers, writer.new_outputs)
    keylength.check_keys([item.path for _, item in files], config.gallery.name)
    return write_extra_files(files, writer)


def write_manifest(
    pm: GalleryPluginManager, config: Config, site: Site, writer: SiteWriter
) -> bytes:
    """Write ``manifest.json``, the plugins' fields in it; its bytes."""
    extra = {}
    for fields in pm.hook.gallery_manifest_fields(site=site, config=config):
        extra.update(fields or {})
    try:
        data = manifest.dumps(
            manifest.build_manifest(
                site, config.images.formats[-1], extra, config.gallery.base_path
            )
        )
    except ValueError as exc:
        raise GalleryError(str(exc)) from None
    writer.write(manifest.MANIFEST_NAME, data, cache_control=None)
    return data


def render_pages(
    pm: GalleryPluginManager,
    config: Config,
    site: Site,
    theme: theming.SiteTheme,
    writer: SiteWriter,
    pages: list[Page],
) -> None:
    environment = theme.environment()
    # once, before the first page: each page renders in a worker forked from this process,
    # which inherits the filters and globals added here (gallery_builder.template_worker)
    pm.hook.gallery_jinja_environment(environment=environment, config=config)
    by_path = albums_by_path(site)  # once: each page's breadcrumbs look their albums up in it
    for page in sorted(pages, key=lambda p: p.path):
        context = page_context(page, site, config, by_path)
        for extra in pm.hook.gallery_template_context(page=page, site=site, config=config):
            context.update(extra or {})
        try:
            html = pm.hook.gallery_render_page(page=page, context=context, environment=environment)
        except jinja2.TemplateSyntaxError as exc:  # loading the page's own template
            raise ThemeError(
                f"template {exc.filename or exc.name}:{exc.lineno}: {exc.message}"
            ) from None
        except theming.TemplateFailure as exc:  # anything raised in a template, its time up
            raise ThemeError(f"cannot render {page.path}: {exc.where()}: {exc.message}") from None
        except (jinja2.TemplateError, LookupError, ValueError, TypeError) as exc:
            # LookupError: a plugin's renderer asked for a template that does not exist
            raise ThemeError(f"cannot render {page.path} from {page.template}: {exc}") from None
        try:
            data = html.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate ('\udc80') made by a template
            raise ThemeError(
                f"cannot render {page.path} from {page.template}: the page has text that is "
                f"not valid Unicode ({exc.object[exc.start : exc.end]!r})"
            ) from None
        writer.write(page.path, data, cache_control=REVALIDATE, content_type=_page_type(page))


def _page_type(page: Page) -> str | None:
    """The page's own content type, checked: a value no server could send is an error."""
    if page.content_type is None:
        return None
    from gallery_builder.serve import safe_content_type  # http.server, ssl: only when needed

    if safe_content_type(page.content_type) != page.content_type:
        raise GalleryError(
            f"page {page.path}: the content type {page.content_type!r} is not a type/subtype "
            "(e.g. application/atom+xml); fix the plugin that adds the page"
        )
    return page.content_type
