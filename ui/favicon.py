"""The browser-tab icon, shipped with the app (`ui/favicon.png`, drawn by `draw`).

A Material or emoji `page_icon` makes every browser fetch the icon from a font CDN at each load
(an offline box shows none); a file is served by Streamlit itself. Regenerate the PNG with
`python -m ui.favicon` (pure Python, deterministic: a test holds the file to `draw()`).
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

FAVICON = Path(__file__).resolve().with_name("favicon.png")
SIZE = 64
BACKGROUND = (14, 124, 102)  # teal, rounded square
LINE = (255, 255, 255)  # a steady rising line
POINTS = ((0.18, 0.70), (0.38, 0.52), (0.55, 0.62), (0.82, 0.30))
LINE_WIDTH = 0.075  # of the size
RADIUS = 0.22  # corner radius, of the size
SAMPLES = 4  # per axis, for anti-aliased edges


def _in_rounded_square(x: float, y: float) -> bool:
    r = RADIUS
    cx, cy = min(max(x, r), 1 - r), min(max(y, r), 1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _on_line(x: float, y: float) -> bool:
    for (x1, y1), (x2, y2) in zip(POINTS, POINTS[1:], strict=False):
        dx, dy = x2 - x1, y2 - y1
        t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
        if math.hypot(x - (x1 + t * dx), y - (y1 + t * dy)) <= LINE_WIDTH / 2:
            return True
    return False


def _pixel(px: int, py: int) -> tuple[int, int, int, int]:
    inside = line = 0
    for sy in range(SAMPLES):
        for sx in range(SAMPLES):
            x = (px + (sx + 0.5) / SAMPLES) / SIZE
            y = (py + (sy + 0.5) / SAMPLES) / SIZE
            if _in_rounded_square(x, y):
                inside += 1
                line += _on_line(x, y)
    if not inside:
        return (0, 0, 0, 0)
    share = line / inside
    rgb = tuple(round(b + (w - b) * share) for b, w in zip(BACKGROUND, LINE, strict=True))
    return (*rgb, round(255 * inside / SAMPLES**2))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def draw() -> bytes:
    """The icon as PNG bytes (RGBA, SIZE x SIZE)."""
    rows = b"".join(
        b"\x00" + bytes(c for px in range(SIZE) for c in _pixel(px, py)) for py in range(SIZE)
    )
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    FAVICON.write_bytes(draw())
    print(f"wrote {FAVICON}")  # noqa: T201
