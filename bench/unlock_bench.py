#!/usr/bin/env python3
"""Benchmark unlocking an encrypted gallery in headless Chromium (issue 10).

A measurement tool, not a test. It makes an album of COUNT synthetic photos, builds it with
``gallery build --password-file``, serves it with ``gallery serve``'s server on 127.0.0.1
(a secure context, as HTTPS is), and in a fresh browser context each round:

1. opens the album's URL (the host answers with the unlock page), types the password and
   submits, then waits until the grid is shown: COUNT pictures in the page and every
   thumbnail in the window decoded. The time is taken in the page, Date.now() at the submit
   (kept in sessionStorage across the reload into the gallery) and at the grid shown.
2. separately, the key derivation alone: PBKDF2-SHA256 at the lock's iteration count with
   the page's WebCrypto (what a guess costs, here and to anyone who copied the files).

It prints the median and range of ``--repeat`` rounds. Needs the test environment
(Playwright, Debian's Chromium: tests/browserenv.py). Takes about a minute at the
defaults, most of it the build.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import browserenv  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from gallery_builder.serve import SiteFolder, make_server, serve_in_thread  # noqa: E402

PASSWORD = "correct horse battery staple"

GRID_SHOWN = """n => {
    const imgs = [...document.querySelectorAll('.pictures img')];
    const shown = imgs.filter(i => i.getBoundingClientRect().top < innerHeight);
    return imgs.length === n && shown.length > 0
        && shown.every(i => i.complete && i.naturalWidth > 0);
}"""

DERIVE = """async () => {
    const lock = await (await fetch('../_lock.json')).json();
    const salt = Uint8Array.from(atob(lock.salt), c => c.charCodeAt(0));
    const base = await crypto.subtle.importKey('raw', new TextEncoder().encode('x'), 'PBKDF2',
                                               false, ['deriveBits']);
    const start = performance.now();
    await crypto.subtle.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt,
                                    iterations: lock.iterations}, base, 256);
    return [(performance.now() - start) / 1000, lock.iterations];
}"""


def make_photos(folder: Path, count: int, size: tuple[int, int]) -> None:
    album = folder / "Album"
    album.mkdir(parents=True)
    rng = random.Random(10)
    for n in range(1, count + 1):
        # noise over a gradient: compresses like a photo, not like a flat colour
        image = Image.effect_noise(size, 40).convert("RGB")
        tint = Image.new("RGB", size, tuple(rng.randrange(256) for _ in range(3)))
        Image.blend(image, tint, 0.6).save(album / f"IMG_{n:04d}.jpg", quality=85)
    (folder / "gallery.toml").write_text(
        '[gallery]\nname = "photos"\ntitle = "Bench"\n\n[images]\nsizes = [640]\n',
        encoding="utf-8",
    )


def build(source: Path, out: Path) -> float:
    password_file = source.parent / "password.txt"
    password_file.write_text(PASSWORD + "\n", encoding="utf-8")
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "gallery_builder", "build", str(source), "-o", str(out),
         "--password-file", str(password_file)],
        check=True, capture_output=True,
    )  # fmt: skip
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100, help="pictures in the album")
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--height", type=int, default=768)
    parser.add_argument("--repeat", type=int, default=5, help="rounds (fresh contexts)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="unlock-bench-") as work:
        source, out = Path(work) / "photos", Path(work) / "site"
        os.environ["GALLERY_CLEAR_DIR"] = str(Path(work) / "clear")  # not the user's cache
        make_photos(source, args.count, (args.width, args.height))
        built = build(source, out)
        print(f"built {args.count} pictures of {args.width}x{args.height}, encrypted: "
              f"{built:.1f} s", file=sys.stderr)  # fmt: skip
        server = make_server(SiteFolder(out, "/photos/"), port=0)
        serve_in_thread(server)
        album = f"http://127.0.0.1:{server.server_address[1]}/photos/album/"
        unlocks, derivations = [], []
        with sync_playwright() as playwright:
            browser = browserenv.launch_chromium(playwright)
            for _ in range(args.repeat):
                context = browser.new_context(viewport={"width": 1280, "height": 720})
                page = context.new_page()
                page.goto(album, wait_until="load")
                derivations.append(page.evaluate(DERIVE))
                page.fill("#password", PASSWORD)
                page.evaluate("() => { sessionStorage.setItem('bench:start', Date.now());"
                              " document.querySelector('button').click(); }")  # fmt: skip
                page.wait_for_function(GRID_SHOWN, arg=args.count, polling="raf",
                                       timeout=120_000)  # fmt: skip
                unlocks.append(page.evaluate(
                    "() => (Date.now() - Number(sessionStorage.getItem('bench:start'))) / 1000"
                ))  # fmt: skip
                shown = page.evaluate(
                    "() => [...document.querySelectorAll('.pictures img')]"
                    ".filter(i => i.getBoundingClientRect().top < innerHeight).length"
                )
                context.close()
            version = browser.version
            browser.close()
        server.shutdown()
        server.server_close()

    seconds = [d for d, _ in derivations]
    print(f"Chromium {version} headless, 1280x720, {args.repeat} rounds, fresh context each")
    print(f"- submit to grid shown ({args.count} pictures, {shown} thumbnails in the window): "
          f"median {statistics.median(unlocks):.2f} s (min {min(unlocks):.2f}, "
          f"max {max(unlocks):.2f})")  # fmt: skip
    print(f"- PBKDF2-SHA256 x {derivations[0][1]} alone: median {statistics.median(seconds):.2f}"
          f" s (min {min(seconds):.2f}, max {max(seconds):.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
