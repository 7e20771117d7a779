"""gallery-zip: the hooks. The publisher is :class:`gallery_zip.archive.ZipPublisher`."""

import click

from gallery_builder import hookimpl
from gallery_builder.plugin_settings import Setting, one_of
from gallery_zip.archive import COMPRESSIONS, ZipPublisher, archive_path


def zip_publisher(target, *, compression="deflated"):
    """``zip:///abs/site.zip`` or ``zip://relative/site.zip`` -> a publisher into that archive.
    ``compression`` comes from --compression, else [plugins.zip] compression."""
    return ZipPublisher(archive_path(target), compression=compression)


#: checked before any request, and by `gallery build` on [publish] target
zip_publisher.check_target = archive_path
#: added to `gallery publish` (and the other commands that open a publisher)
zip_publisher.options = [
    click.Option(
        ["--compression"],
        type=click.Choice(COMPRESSIONS),
        default=None,  # unset: [plugins.zip] compression decides
        help="zip:// targets: how the archive's files are stored.",
    )
]


@hookimpl
def gallery_publishers():
    return {"zip": zip_publisher}


@hookimpl
def gallery_settings():
    return {
        "compression": Setting(
            "deflated", "how zip:// archives store files", check=one_of(*COMPRESSIONS)
        )
    }
