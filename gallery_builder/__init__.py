"""gallery-builder: a pluggable static-gallery generator that publishes to S3 website hosting."""

import pluggy

__version__ = "0.1.0"

#: Marker for hook implementations: ``@hookimpl def gallery_scan(...)``.
hookimpl = pluggy.HookimplMarker("gallery_builder")

__all__ = ["__version__", "hookimpl"]
