"""The libvips image processor ("vips"): pictures' derivatives made with libvips through
pyvips, chosen with ``[images] processor = "vips"`` or ``gallery build --processor vips``
(docs/processors.md). Installed with ``pip install 'gallery-builder[vips]'``: pyvips and the
pyvips-binary wheel, which bundles libvips.

This module is imported by every build (it is a plugin); it imports pyvips only when the
processor is probed, in the main process, or run, in a worker
(:mod:`gallery_builder.plugins.vips.worker`).
"""

from __future__ import annotations

#: this plugin's own processing: bump it whenever the bytes it writes may change
CODE_VERSION = "1"
WORKER = "gallery_builder.plugins.vips.worker:process_image"
INSTALL = "pyvips is not installed: pip install 'gallery-builder[vips]'"
