"""Publishers by URL scheme. Plugins register them with ``gallery_publishers``; the publish
protocol itself (plan, ordering, commit) lives here too as it grows (ARCHITECTURE.md §5)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gallery_builder.errors import GalleryError
from gallery_builder.plugin_manager import GalleryPluginManager


def publisher_factories(pm: GalleryPluginManager) -> dict[str, Any]:
    """``{scheme: factory}`` from every plugin; a scheme claimed twice is an error."""
    factories: dict[str, Any] = {}
    owners: dict[str, str] = {}
    for impl in reversed(pm.hook.gallery_publishers.get_hookimpls()):
        for scheme, factory in (impl.function() or {}).items():
            scheme = scheme.lower()
            if scheme in factories:
                raise GalleryError(
                    f"two plugins publish to '{scheme}://': {owners[scheme]} and "
                    f"{impl.plugin_name}; block one with --block NAME"
                )
            factories[scheme], owners[scheme] = factory, impl.plugin_name
    return factories


def publisher_for(pm: GalleryPluginManager, target: str) -> tuple[str, Any]:
    """The scheme of ``target`` and its factory; a bare name means ``s3://NAME``."""
    scheme = urlsplit(target).scheme.lower() if "://" in target else "s3"
    factories = publisher_factories(pm)
    if scheme not in factories:
        installed = ", ".join(f"{s}://" for s in sorted(factories)) or "none"
        raise GalleryError(f"no publisher for '{scheme}://' (installed: {installed})")
    return scheme, factories[scheme]
