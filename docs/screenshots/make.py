"""Screenshots of the default theme for the docs: the example gallery's root and an album
page at phone and desktop widths, in Debian's Chromium through Playwright.

    python docs/screenshots/make.py    # builds examples/photos; writes docs/screenshots/*.png

Needs what the tests need (README's test command): chromium and the `playwright` package.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent
SHOTS = {  # name: (path under the gallery, viewport width, height, device scale)
    "root-desktop": ("", 1280, 800, 1),
    "album-desktop": ("istanbul-2024/", 1280, 800, 1),
    "root-phone": ("", 375, 740, 2),
    "album-phone": ("istanbul-2024/", 375, 740, 2),
    "viewer-desktop": ("istanbul-2024/#galata-tower", 1280, 800, 1),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    chromium = os.environ.get("GALLERY_CHROMIUM", "/usr/bin/chromium")
    parser.add_argument("--chromium", default=chromium, help="the Chromium binary")
    parser.add_argument("--theme", default="default")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from gallery_builder.serve import SiteFolder, make_server, serve_in_thread

    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        subprocess.run(
            [sys.executable, "-m", "gallery_builder", "build", str(ROOT / "examples" / "photos"),
             "-o", str(site), "--theme", args.theme, "-q"],
            check=True,
        )  # fmt: skip
        server = make_server(SiteFolder(site, "/photos/"), port=0)
        serve_in_thread(server)
        base = f"http://127.0.0.1:{server.server_address[1]}/photos/"
        suffix = "" if args.theme == "default" else f"-{args.theme}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=args.chromium,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            for name, (path, width, height, scale) in SHOTS.items():
                for scheme in ("light", "dark") if name == "album-desktop" else ("light",):
                    page = browser.new_page(
                        viewport={"width": width, "height": height}, device_scale_factor=scale,
                        color_scheme=scheme,
                    )  # fmt: skip
                    page.goto(base + path, wait_until="networkidle")
                    page.wait_for_timeout(300)
                    tag = "" if scheme == "light" else "-dark"
                    target = OUT / f"{name}{tag}{suffix}.png"
                    page.screenshot(path=str(target))
                    page.close()
                    print(target.relative_to(ROOT))
            browser.close()
        server.shutdown()


if __name__ == "__main__":
    main()
