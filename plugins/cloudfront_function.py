"""The viewer-request CloudFront Function every gallery's distribution runs: the project file
``cloudfront/viewer_request.js`` beside this module (S3-website semantics on a REST origin: a
folder URI gets ``index.html``, ``/album`` is redirected to ``/album/``; see the file). It is
read through importlib.resources, so it is found in an installed wheel as in a checkout
(pyproject.toml's package-data ships it)."""

from __future__ import annotations

from importlib.resources import files

#: the runtime the function is written for (``FunctionConfig.Runtime``)
FUNCTION_RUNTIME = "cloudfront-js-2.0"
#: CloudFront's quota on a function's size (10 KB)
MAX_FUNCTION_SIZE = 10 * 1024
#: where the source is, inside this package
FUNCTION_FILE = ("cloudfront", "viewer_request.js")


def function_code() -> bytes:
    """The function's source, as ``create_function``/``update_function`` take it."""
    folder, name = FUNCTION_FILE
    return files(__package__).joinpath(folder).joinpath(name).read_bytes()
