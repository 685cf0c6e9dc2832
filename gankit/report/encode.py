"""Pictures as data URIs: the page carries every picture inside itself.

PNGs (the plots) are reduced to a 256-colour palette without dithering before encoding:
plots have few colours, so they look the same at a third to a half of the bytes. The
snapshot frames, up to sixty of them, go in as lossy WebP, which every current browser
shows, for half the bytes again.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

DPI = 100  # plots are drawn at their CSS size: 1 inch = 100 pixels on the page
WEBP_QUALITY = 80  # lossy WebP quality of the snapshot frames (0-100)
WEBP_EFFORT = 4  # libwebp's method: 6 saves a few % more bytes at twice the time


def png_bytes(picture: np.ndarray | Image.Image, palette: bool = True) -> bytes:
    """An RGB(A) array or image as PNG bytes, palette-reduced unless ``palette`` is False."""
    img = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture))
    img = img.convert("RGB")
    if palette:
        img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def webp_bytes(picture: np.ndarray | Image.Image, quality: int = WEBP_QUALITY) -> bytes:
    """An RGB(A) array or image as lossy WebP bytes: the snapshot frames, of which the page
    holds up to sixty. Smooth heat-maps and game frames take a third to a half of their
    palette PNG's bytes at a quality where text and single points stay sharp."""
    img = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="WEBP", quality=quality, method=WEBP_EFFORT)
    return buf.getvalue()


def figure_png(fig: Figure) -> bytes:
    """A matplotlib figure (drawn on an Agg canvas) as palette PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return png_bytes(Image.open(buf))


def mime_of(data: bytes) -> str:
    """The MIME type of PNG, WebP or GIF bytes, read from their signature."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/gif" if data[:4] == b"GIF8" else "image/png"


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
