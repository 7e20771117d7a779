"""Built-in album tree: one album per folder, nested like the source."""

from __future__ import annotations

from gallery_builder import hookimpl
from gallery_builder.config import Config
from gallery_builder.model import Album, Picture


def _sort(root: Album) -> None:
    # children before their parents (a parent's cover may be its first child's), no recursion
    for album in reversed(root.walk()):
        album.pictures.sort(key=lambda p: p.sort_key)
        album.children.sort(key=lambda a: (a.earliest is None, a.earliest or "", a.title.lower()))
        album.cover = album.pictures[0] if album.pictures else None
        if album.cover is None and album.children:
            album.cover = album.children[0].cover


def album_tree(pictures: list[Picture], title: str) -> Album:
    """The root album holding every picture; folders with no picture below are absent."""
    root = Album(path="", title=title, source_relpath="")
    by_folder = {"": root}
    for picture in sorted(pictures, key=lambda p: p.source.relpath):
        folder = picture.source.album_relpath
        parts = folder.split("/") if folder else []
        slug_parts = picture.album_path.split("/") if picture.album_path else []
        parent = root
        for depth in range(1, len(parts) + 1):
            key = "/".join(parts[:depth])
            if key not in by_folder:
                album = Album(
                    path="/".join(slug_parts[:depth]), title=parts[depth - 1], source_relpath=key
                )
                by_folder[key] = album
                parent.children.append(album)
            parent = by_folder[key]
        parent.pictures.append(picture)
    _sort(root)
    return root


@hookimpl(trylast=True)
def gallery_album_tree(pictures: list[Picture], config: Config) -> Album:
    return album_tree(pictures, config.gallery.title)
