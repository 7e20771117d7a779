"""CMYK pictures to sRGB, as photo viewers show them.

A CMYK JPEG is converted through its embedded ICC profile, or, when it has none, through a
standard CMYK profile: Ghostscript's (Debian's ``libgs-common``, installed by the README's
test command), looked for at :data:`DEFAULT_CMYK_PROFILES`. A plain ``convert("RGB")`` ignores
the ink's behaviour and comes out 12–18 levels too dark. Without such a profile on the machine
that naive conversion is the fallback (docs/building.md#images), and the processor version
says which was used, so installing the profile later remakes those images.

Inversion: Photoshop writes CMYK JPEGs inverted (0 is full ink) and marks them with an Adobe
APP14 segment; Pillow decodes every CMYK JPEG as inverted. Browsers and viewers invert only
those with the Adobe marker, so one without it is inverted back here.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import io
import os

from PIL import Image, ImageChops, ImageCms

#: the environment variable naming a CMYK profile to use instead of the default one
PROFILE_VARIABLE = "GALLERY_CMYK_PROFILE"
#: where a CMYK profile is looked for when a picture has none (the first readable one wins):
#: Ghostscript's default (a SWOP-like coated press), which Debian and Ubuntu ship in
#: libgs-common, and other systems with Ghostscript (in a folder named for its version)
DEFAULT_CMYK_PROFILES = (
    "/usr/share/color/icc/ghostscript/default_cmyk.icc",
    "/usr/share/ghostscript/iccprofiles/default_cmyk.icc",
    "/usr/share/ghostscript/*/iccprofiles/default_cmyk.icc",
    "/usr/local/share/ghostscript/*/iccprofiles/default_cmyk.icc",
    "/opt/homebrew/share/ghostscript/*/iccprofiles/default_cmyk.icc",
)


@functools.cache
def default_cmyk_profile() -> bytes | None:
    """The bytes of the CMYK profile ``$GALLERY_CMYK_PROFILE`` names, else of the first
    usable one of :data:`DEFAULT_CMYK_PROFILES`, or None."""
    chosen = os.environ.get(PROFILE_VARIABLE)
    candidates = [chosen] if chosen else []
    for pattern in DEFAULT_CMYK_PROFILES:
        candidates += sorted(glob.glob(pattern), reverse=True)  # the newest version first
    for path in candidates:
        try:
            with open(path, "rb") as f:
                data = f.read(4 * 1024 * 1024)
            profile = ImageCms.ImageCmsProfile(io.BytesIO(data))
        except (OSError, ImageCms.PyCMSError):
            continue
        if profile.profile.xcolor_space.strip() == "CMYK":
            return data
    return None


def conversion_id() -> str:
    """Which conversion CMYK pictures get here, for the processor version: the default
    profile's hash, or "naive" when there is none."""
    data = default_cmyk_profile()
    return hashlib.md5(data).hexdigest()[:8] if data else "naive"


def uninvert(im: Image.Image) -> Image.Image:
    """``im`` (an opened CMYK picture) with its ink as viewers read it: a JPEG without an
    Adobe APP14 marker is not inverted, though Pillow decoded it as if it were."""
    if im.mode == "CMYK" and im.format in ("JPEG", "MPO") and "adobe" not in im.info:
        return ImageChops.invert(im)
    return im


def cmyk_to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """The CMYK picture ``im`` in sRGB (mode RGB): through its own profile ``icc`` if it is a
    usable CMYK one, else the default profile, else (no profile on this machine) naively."""
    srgb = ImageCms.createProfile("sRGB")
    for data in (icc, default_cmyk_profile()):
        if not data:
            continue
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(data))
            return ImageCms.profileToProfile(im, source, srgb, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            continue  # a damaged or non-CMYK embedded profile: the default one then
    return im.convert("RGB")
