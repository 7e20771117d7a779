"""Generate the sample gallery in ``examples/photos/`` (stdlib + Pillow only).

Run ``python examples/make_examples.py [DEST]``.  Pictures are painted from gradients
and simple shapes, with seeded randomness, so two runs write byte-identical files:

    photos/gallery.toml
    photos/Istanbul 2024/        4 JPEGs: a portrait stored with EXIF orientation 6,
                                 one with GPS, captions in EXIF ImageDescription,
                                 an album description in index.md
    photos/Istanbul 2024/Bosphorus/   2 JPEGs (nested album)
    photos/Butterflies/          2 JPEGs (one with a sidecar caption ``Monarch.txt``), 1 PNG

EXIF text is stored as UTF-8 bytes, as cameras and exiftool do.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

Colour = tuple[int, int, int]
Point = tuple[float, float]

SUPERSAMPLE = 2  # paint at twice the size, then downscale: smooth (anti-aliased) edges
GALLERY_TOML = '[gallery]\nname = "examples"\ntitle = "Example Photos"\n'


class Canvas:
    """A picture painted in fractional coordinates: (0, 0) top-left, (1, 1) bottom-right."""

    def __init__(self, size: tuple[int, int], seed: int) -> None:
        self.size = size
        self.w, self.h = size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE
        self.im = Image.new("RGB", (self.w, self.h))
        self.draw = ImageDraw.Draw(self.im)
        self.rng = random.Random(seed)

    def xy(self, x: float, y: float) -> tuple[int, int]:
        return round(x * self.w), round(y * self.h)

    def pts(self, points: Sequence[Point]) -> list[tuple[int, int]]:
        return [self.xy(x, y) for x, y in points]

    def r(self, radius: float) -> int:
        """A length given as a fraction of the short edge."""
        return max(1, round(radius * min(self.w, self.h)))

    def gradient(self, stops: Sequence[tuple[float, Colour]], top: float = 0, bottom: float = 1):
        """Vertical gradient through ``stops`` ((position 0..1, colour), ...) on a band."""
        y0, y1 = self.xy(0, top)[1], self.xy(0, bottom)[1]
        n = max(1, y1 - y0)
        column = Image.new("RGB", (1, n))
        column.putdata([_mix(stops, i / max(1, n - 1)) for i in range(n)])
        self.im.paste(column.resize((self.w, n), Image.Resampling.NEAREST), (0, y0))

    def circle(self, x: float, y: float, radius: float, fill: Colour) -> None:
        (cx, cy), r = self.xy(x, y), self.r(radius)
        self.draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)

    def glow(self, x: float, y: float, radius: float, colour: Colour, strength: float = 1) -> None:
        """Soft round light fading to nothing at ``radius``."""
        (cx, cy), r = self.xy(x, y), self.r(radius)
        ramp = [round(255 * strength * max(0.0, 1 - v / 128) ** 2) for v in range(256)]
        mask = Image.radial_gradient("L").point(ramp).resize((2 * r, 2 * r))
        self.im.paste(colour, (cx - r, cy - r), mask)

    def shape(self, points: Sequence[Point], fill: Colour, outline: Colour | None = None, width=0):
        self.draw.polygon(self.pts(points), fill=fill, outline=outline, width=width * SUPERSAMPLE)

    def ripples(self, top: float, colour: Colour, count: int, centre: float = 0.5, spread=0.5):
        """Short horizontal highlights on water below ``top``."""
        for _ in range(count):
            y = top + (1 - top) * self.rng.random() ** 1.5
            x = centre + self.rng.uniform(-spread, spread) * (0.3 + (y - top) / (1 - top))
            half = self.rng.uniform(0.01, 0.05)
            self.draw.line(self.pts([(x - half, y), (x + half, y)]), fill=colour, width=3)

    def result(self) -> Image.Image:
        return self.im.resize(self.size, Image.Resampling.LANCZOS)


def _mix(stops: Sequence[tuple[float, Colour]], t: float) -> Colour:
    for (p0, c0), (p1, c1) in itertools.pairwise(stops):
        if t <= p1:
            k = (t - p0) / (p1 - p0) if p1 > p0 else 0
            return tuple(round(a + (b - a) * k) for a, b in zip(c0, c1, strict=True))
    return stops[-1][1]


def _ellipse(c: Canvas, x: float, y: float, rx: float, ry: float, angle: float) -> list[Point]:
    """72 points of an ellipse centred on (x, y), radii in short-edge fractions, rotated
    by ``angle`` degrees."""
    kx, ky = c.r(1) / c.w, c.r(1) / c.h
    a = math.radians(angle)
    out = []
    for i in range(72):
        ex, ey = rx * math.cos(math.pi * i / 36), ry * math.sin(math.pi * i / 36)
        dx, dy = ex * math.cos(a) - ey * math.sin(a), ex * math.sin(a) + ey * math.cos(a)
        out.append((x + dx * kx, y + dy * ky))
    return out


def skyline(c: Canvas, base: float, colour: Colour, height: float) -> None:
    """Row of seeded box houses standing on ``base``."""
    x = -0.02
    while x < 1:
        w = c.rng.uniform(0.03, 0.07)
        c.shape(
            [
                (x, base),
                (x, base - c.rng.uniform(0.3, 1) * height),
                (x + w, base - c.rng.uniform(0.3, 1) * height),
                (x + w, base),
            ],
            colour,
        )
        x += w * 0.9


def mosque(c: Canvas, x: float, base: float, s: float, colour: Colour) -> None:
    """Silhouette: a big dome on a block, two half domes, two minarets."""
    c.shape(
        [
            (x - 1.2 * s, base),
            (x - 1.2 * s, base - 0.5 * s),
            (x + 1.2 * s, base - 0.5 * s),
            (x + 1.2 * s, base),
        ],
        colour,
    )
    for dx, r in ((0, 0.55), (-0.75, 0.3), (0.75, 0.3)):
        c.circle(x + dx * s * c.h / c.w, base - 0.5 * s, r * s, colour)
    for dx in (-1.6, 1.6):
        mx = x + dx * s * c.h / c.w
        c.shape(
            [
                (mx - 0.006, base),
                (mx - 0.006, base - 1.6 * s),
                (mx, base - 2.0 * s),
                (mx + 0.006, base - 1.6 * s),
                (mx + 0.006, base),
            ],
            colour,
        )


def butterfly(
    c: Canvas, x: float, y: float, s: float, wing: Colour, edge: Colour, spots_colour: Colour
) -> None:
    """A butterfly seen from above, centred on (x, y), wingspan about 4 * ``s`` short edges."""
    kx, ky = c.r(1) / c.w, c.r(1) / c.h
    wx, wy = x - s * kx, y - 0.45 * s * ky  # left upper wing centre
    upper = _ellipse(c, wx, wy, 1.15 * s, 0.7 * s, 30)
    lower = _ellipse(c, x - 0.75 * s * kx, y + 0.55 * s * ky, 0.8 * s, 0.55 * s, -40)
    tip = max(
        range(72), key=lambda i: (upper[i][0] - x) ** 2 / kx**2 + (upper[i][1] - y) ** 2 / ky**2
    )
    veins = [[(x, y), upper[(tip + d) % 72]] for d in (-9, 0, 9)]
    spots = [upper[(tip + d) % 72] for d in range(-12, 13, 6)]
    spots = [(wx + (px - wx) * 0.85, wy + (py - wy) * 0.85) for px, py in spots]
    for side in (1, -1):  # left half as computed, then mirrored around x

        def m(points: Sequence[Point], side: int = side) -> list[Point]:
            return [(x + side * (px - x), py) for px, py in points]

        for points in (upper, lower):
            c.shape(m(points), wing, outline=edge, width=6)
        for vein in veins:
            c.draw.line(c.pts(m(vein)), fill=edge, width=4)
        for px, py in m(spots):
            c.circle(px, py, 0.06 * s, spots_colour)
    body = (30, 25, 20)
    c.shape(_ellipse(c, x, y + 0.1 * s * ky, 0.12 * s, 0.9 * s, 0), body)
    c.circle(x, y - 0.85 * s * ky, 0.16 * s, body)
    for side in (-1, 1):
        feeler = [(x, y - 0.9 * s * ky), (x + side * 0.5 * s * kx, y - 1.6 * s * ky)]
        c.draw.line(c.pts(feeler), fill=body, width=4)


# --- the pictures ---------------------------------------------------------------------


def galata_tower(c: Canvas) -> None:
    c.gradient(
        [(0, (44, 52, 112)), (0.45, (231, 118, 96)), (0.7, (255, 190, 112)), (1, (255, 214, 150))],
        0,
        0.8,
    )
    c.glow(0.72, 0.6, 0.45, (255, 226, 160), 0.8)
    c.circle(0.72, 0.6, 0.07, (255, 236, 190))
    skyline(c, 0.8, (70, 40, 72), 0.12)
    tower = (58, 30, 60)
    c.shape([(0.41, 0.8), (0.42, 0.36), (0.58, 0.36), (0.59, 0.8)], tower)
    c.shape([(0.39, 0.36), (0.5, 0.2), (0.61, 0.36)], tower)
    c.shape([(0.495, 0.2), (0.5, 0.16), (0.505, 0.2)], tower)
    for k in range(5):
        c.shape(
            [
                (0.43 + 0.03 * k, 0.39),
                (0.445 + 0.03 * k, 0.39),
                (0.445 + 0.03 * k, 0.43),
                (0.43 + 0.03 * k, 0.43),
            ],
            (255, 200, 110),
        )
    c.gradient([(0, (120, 70, 100)), (1, (40, 30, 70))], 0.8, 1)
    c.ripples(0.8, (250, 180, 120), 90, centre=0.72, spread=0.25)


def golden_horn(c: Canvas) -> None:
    c.gradient(
        [(0, (255, 170, 80)), (0.5, (250, 120, 70)), (0.8, (200, 80, 90)), (1, (150, 60, 90))],
        0,
        0.68,
    )
    c.glow(0.35, 0.55, 0.6, (255, 220, 130), 0.9)
    c.circle(0.35, 0.55, 0.09, (255, 235, 170))
    hill = (80, 40, 70)
    c.shape([(0, 0.68), (0, 0.6), (0.3, 0.56), (0.6, 0.58), (1, 0.52), (1, 0.68)], hill)
    mosque(c, 0.7, 0.58, 0.09, hill)
    skyline(c, 0.68, (60, 30, 60), 0.06)
    c.gradient([(0, (190, 90, 80)), (1, (60, 30, 70))], 0.68, 1)
    c.ripples(0.68, (255, 210, 140), 140, centre=0.35, spread=0.2)


def tea_and_simit(c: Canvas) -> None:
    c.gradient([(0, (150, 200, 235)), (0.3, (90, 160, 215)), (0.55, (30, 90, 150))], 0, 0.55)
    c.shape([(0, 0.42), (0.25, 0.38), (0.6, 0.41), (1, 0.37), (1, 0.5), (0, 0.5)], (80, 120, 130))
    c.ripples(0.45, (200, 230, 250), 60)
    c.gradient([(0, (150, 95, 55)), (1, (95, 55, 30))], 0.55, 1)
    for k in range(6):  # planks
        c.draw.line(c.pts([(0, 0.6 + 0.08 * k), (1, 0.62 + 0.08 * k)]), fill=(85, 50, 28), width=4)
    c.shape(_ellipse(c, 0.3, 0.8, 0.2, 0.06, 0), (190, 30, 40))  # saucer
    c.shape(
        [(0.25, 0.42), (0.35, 0.42), (0.32, 0.58), (0.345, 0.78), (0.255, 0.78), (0.28, 0.58)],
        (235, 240, 245),
    )
    c.shape(
        [(0.256, 0.47), (0.344, 0.47), (0.318, 0.58), (0.342, 0.76), (0.258, 0.76), (0.282, 0.58)],
        (175, 55, 20),
    )
    c.circle(0.66, 0.72, 0.22, (196, 128, 62))
    c.circle(0.66, 0.72, 0.19, (214, 150, 80))
    c.circle(0.66, 0.72, 0.08, (150, 95, 55))
    for _ in range(220):  # sesame seeds on the ring
        a, d = c.rng.uniform(0, 2 * math.pi), c.rng.uniform(0.1, 0.2)
        c.circle(0.66 + d * math.cos(a) * c.h / c.w, 0.72 + d * math.sin(a), 0.005, (245, 225, 180))


def bazaar_lamps(c: Canvas) -> None:
    c.gradient([(0, (30, 14, 20)), (1, (70, 34, 24))])
    palette = [(255, 90, 60), (255, 190, 60), (90, 200, 255), (120, 255, 150), (230, 90, 255)]
    for _ in range(34):
        x, y, r = c.rng.uniform(0.05, 0.95), c.rng.uniform(0.15, 0.85), c.rng.uniform(0.04, 0.08)
        colour = c.rng.choice(palette)
        c.draw.line(c.pts([(x, 0), (x, y - r)]), fill=(120, 90, 60), width=2)
        c.glow(x, y, r * 2.5, colour, 0.45)
        c.circle(x, y, r, colour)
        c.circle(x - r * 0.25, y - r * 0.35, r * 0.35, tuple(min(255, v + 70) for v in colour))


def cloud(c: Canvas, x: float, y: float, s: float) -> None:
    """Cartoon cloud of white puffs on a flat bottom, ``s`` short edges high."""
    kx, ky, white = c.r(1) / c.w, c.r(1) / c.h, (250, 252, 255)
    for dx, dy, r in ((-1.4, 0.3, 0.6), (-0.6, -0.1, 0.9), (0.4, -0.3, 1.1), (1.4, 0.2, 0.7)):
        c.circle(x + dx * s * kx, y + dy * s * ky, r * s, white)
    left, right, top, bottom = (
        x - 1.4 * s * kx,
        x + 1.4 * s * kx,
        y + 0.3 * s * ky,
        y + 0.9 * s * ky,
    )
    c.shape([(left, top), (right, top), (right, bottom), (left, bottom)], white)


def ferry(c: Canvas) -> None:
    c.gradient([(0, (110, 170, 230)), (1, (200, 225, 245))], 0, 0.55)
    for x, y, s in ((0.2, 0.16, 0.05), (0.62, 0.1, 0.07), (0.86, 0.26, 0.04)):
        cloud(c, x, y, s)
    c.shape(
        [(0, 0.55), (0, 0.45), (0.2, 0.42), (0.5, 0.47), (0.8, 0.4), (1, 0.44), (1, 0.55)],
        (90, 130, 120),
    )
    skyline(c, 0.55, (170, 165, 160), 0.04)
    c.gradient([(0, (40, 110, 160)), (1, (15, 50, 100))], 0.55, 1)
    c.ripples(0.55, (150, 200, 230), 120)
    c.shape([(0.3, 0.66), (0.72, 0.66), (0.68, 0.74), (0.33, 0.74)], (245, 245, 240))
    c.shape([(0.33, 0.7), (0.69, 0.7), (0.685, 0.715), (0.335, 0.715)], (30, 50, 90))
    c.shape([(0.38, 0.66), (0.38, 0.6), (0.64, 0.6), (0.64, 0.66)], (235, 235, 230))
    for k in range(8):
        x = 0.395 + 0.03 * k
        c.shape([(x, 0.615), (x + 0.018, 0.615), (x + 0.018, 0.64), (x, 0.64)], (60, 80, 110))
    c.shape([(0.5, 0.6), (0.5, 0.55), (0.53, 0.55), (0.53, 0.6)], (245, 245, 240))
    c.shape([(0.5, 0.56), (0.53, 0.56), (0.53, 0.57), (0.5, 0.57)], (200, 40, 40))


def bridge_at_night(c: Canvas) -> None:
    c.gradient([(0, (8, 10, 35)), (1, (40, 40, 90))], 0, 0.62)
    for _ in range(160):
        c.circle(
            c.rng.random(),
            c.rng.random() * 0.5,
            c.rng.choice((0.0015, 0.002, 0.003)),
            (255, 255, 230),
        )
    c.shape(
        [
            (0, 0.62),
            (0, 0.52),
            (0.15, 0.5),
            (0.3, 0.56),
            (0.7, 0.55),
            (0.9, 0.5),
            (1, 0.52),
            (1, 0.62),
        ],
        (15, 18, 30),
    )
    deck = 0.5
    span = [(0.02 + 0.96 * i / 60, 0.0) for i in range(61)]
    cable = [
        (
            x,
            deck - 0.3 + 0.3 * ((x - 0.5) / 0.3) ** 2
            if abs(x - 0.5) < 0.3
            else deck - 0.3 + 0.3 * (abs(x - 0.5) - 0.3) / 0.18,
        )
        for x, _ in span
    ]
    c.draw.line(c.pts(cable), fill=(120, 120, 170), width=4)
    c.draw.line(c.pts([(0, deck), (1, deck)]), fill=(90, 90, 130), width=8)
    for tx in (0.2, 0.8):
        c.shape(
            [
                (tx - 0.008, 0.62),
                (tx - 0.008, deck - 0.31),
                (tx + 0.008, deck - 0.31),
                (tx + 0.008, 0.62),
            ],
            (60, 60, 95),
        )
    for i, (x, y) in enumerate(cable[::2]):
        colour = ((255, 80, 160), (120, 180, 255), (255, 220, 120))[i % 3]
        c.glow(x, y, 0.02, colour, 0.8)
        c.glow(x, deck, 0.012, (255, 230, 170), 0.9)
    c.gradient([(0, (30, 30, 70)), (1, (5, 5, 20))], 0.62, 1)
    c.ripples(0.62, (220, 160, 200), 110, spread=0.45)


def meadow(c: Canvas, top: Colour, bottom: Colour, bokeh: Colour) -> None:
    c.gradient([(0, top), (1, bottom)])
    for _ in range(18):
        c.glow(
            c.rng.random(),
            c.rng.random(),
            c.rng.uniform(0.05, 0.14),
            bokeh,
            c.rng.uniform(0.2, 0.45),
        )


def monarch(c: Canvas) -> None:
    meadow(c, (120, 170, 80), (40, 90, 40), (230, 240, 170))
    butterfly(c, 0.5, 0.5, 0.17, (240, 120, 20), (25, 20, 15), (250, 250, 245))


def blue_morpho(c: Canvas) -> None:
    meadow(c, (40, 70, 50), (15, 35, 30), (140, 200, 160))
    butterfly(c, 0.5, 0.48, 0.2, (40, 130, 240), (10, 20, 40), (200, 230, 255))


def swallowtail(c: Canvas) -> None:
    c.im.paste((236, 240, 228), (0, 0, c.w, c.h))
    c.circle(0.25, 0.3, 0.18, (222, 232, 210))
    c.circle(0.8, 0.75, 0.25, (222, 232, 210))
    butterfly(c, 0.5, 0.52, 0.17, (250, 215, 60), (20, 20, 20), (80, 120, 220))


# --- writing ----------------------------------------------------------------------------


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    degrees, rest = divmod(abs(value) * 3600, 3600)
    minutes, seconds = divmod(rest, 60)
    return (
        IFDRational(int(degrees), 1),
        IFDRational(int(minutes), 1),
        IFDRational(round(seconds * 100), 100),
    )


def exif_bytes(
    taken: str,
    make: str = "",
    model: str = "",
    caption: str = "",
    orientation: int = 1,
    gps: Point | None = None,
) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x0132] = taken
    exif.get_ifd(0x8769)[0x9003] = taken
    for tag, text in ((0x010F, make), (0x0110, model), (0x010E, caption)):
        if text:
            exif[tag] = text.encode("utf-8")
    if gps:
        lat, lon = gps
        exif.get_ifd(0x8825).update(
            {
                0: b"\x02\x02\x00\x00",
                1: "N" if lat >= 0 else "S",
                2: _dms(lat),
                3: "E" if lon >= 0 else "W",
                4: _dms(lon),
            }
        )
    return exif.tobytes()


FUJI = {"make": "FUJIFILM", "model": "X-T30"}
PHONE = {"make": "Apple", "model": "iPhone 13"}
CANON = {"make": "Canon", "model": "Canon EOS 90D"}

# (relative path, displayed size, painter, seed, EXIF options or None for no EXIF)
PICTURES: list[tuple[str, tuple[int, int], Callable[[Canvas], None], int, dict | None]] = [
    (
        "Istanbul 2024/Galata Tower.jpg",
        (900, 1200),
        galata_tower,
        1,
        {
            "taken": "2024:05:17 19:12:40",
            "caption": "Galata Tower at golden hour",
            "orientation": 6,
            **FUJI,
        },
    ),
    (
        "Istanbul 2024/Sunset over the Golden Horn.jpg",
        (1600, 1000),
        golden_horn,
        2,
        {"taken": "2024:05:17 20:03:15", "gps": (41.0220, 28.9700), **PHONE},
    ),
    (
        "Istanbul 2024/Tea and Simit.jpg",
        (1200, 900),
        tea_and_simit,
        3,
        {"taken": "2024:05:18 09:21:07", "caption": "Çay & simit by the Bosphorus", **FUJI},
    ),
    (
        "Istanbul 2024/Grand Bazaar Lamps.jpg",
        (1400, 933),
        bazaar_lamps,
        4,
        {"taken": "2024:05:19 15:47:52"},
    ),
    (
        "Istanbul 2024/Bosphorus/Ferry.jpg",
        (1600, 1067),
        ferry,
        5,
        {"taken": "2024:05:18 10:05:12", "caption": "Ferry to Kadıköy", **PHONE},
    ),
    (
        "Istanbul 2024/Bosphorus/Bridge at Night.jpg",
        (1600, 900),
        bridge_at_night,
        6,
        {"taken": "2024:05:18 22:31:05", "caption": "The Bosphorus Bridge lit up at night", **FUJI},
    ),
    ("Butterflies/Monarch.jpg", (1200, 900), monarch, 7, {"taken": "2023:08:12 11:02:33", **CANON}),
    (
        "Butterflies/Blue Morpho.jpg",
        (1000, 1333),
        blue_morpho,
        8,
        {"taken": "2023:08:12 11:15:09", **CANON},
    ),
    ("Butterflies/Swallowtail.png", (800, 600), swallowtail, 9, None),
]
SIDECARS = {
    "Butterflies/Monarch.txt": "A monarch resting in the butterfly house, wings wide open.\n",
    # an album description (Markdown)
    "Istanbul 2024/index.md": (
        "Five days in **Istanbul** in May 2024: the Galata Tower at golden hour, tea by the "
        "water,\nand the ferries across the "
        "[Bosphorus](https://en.wikipedia.org/wiki/Bosphorus).\n"
    ),
}

# Inverse of what an EXIF orientation asks a viewer to do: from displayed to stored pixels.
STORED = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def build(dest: Path) -> list[Path]:
    """Write every picture, sidecar and gallery.toml under ``dest``; return the paths."""
    written = []
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "gallery.toml").write_text(GALLERY_TOML, encoding="utf-8", newline="\n")
    written.append(dest / "gallery.toml")
    for relative, size, painter, seed, exif in PICTURES:
        canvas = Canvas(size, seed)
        painter(canvas)
        picture = canvas.result()
        path = dest / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".png":
            picture.save(path, "PNG", optimize=True)
        else:
            orientation = (exif or {}).get("orientation", 1)
            if orientation in STORED:
                picture = picture.transpose(STORED[orientation])
            extra = {"exif": exif_bytes(**exif)} if exif else {}
            picture.save(path, "JPEG", quality=80, optimize=True, **extra)
        written.append(path)
    for relative, text in SIDECARS.items():
        (dest / relative).write_text(text, encoding="utf-8", newline="\n")
        written.append(dest / relative)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "dest", nargs="?", type=Path, default=Path(__file__).resolve().parent / "photos"
    )
    args = parser.parse_args()
    total = 0
    for path in build(args.dest):
        size = path.stat().st_size
        total += size
        print(f"{size / 1024:7.1f} KB  {path.relative_to(args.dest)}")
    print(f"{total / 1024:7.1f} KB  total")


if __name__ == "__main__":
    main()
