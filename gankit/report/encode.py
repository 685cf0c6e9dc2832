"""Pictures as data URIs: the page carries every picture inside itself.

PNGs are reduced to a 256-colour palette without dithering before encoding: plots, 2-D
frames and game frames have few colours, so they look the same at a third to a half of the
bytes, which matters for a page that embeds up to sixty snapshot frames.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

DPI = 100  # plots are drawn at their CSS size: 1 inch = 100 pixels on the page


def png_bytes(picture: np.ndarray | Image.Image, palette: bool = True) -> bytes:
    """An RGB(A) array or image as PNG bytes, palette-reduced unless ``palette`` is False."""
    img = picture if isinstance(picture, Image.Image) else Image.fromarray(np.asarray(picture))
    img = img.convert("RGB")
    if palette:
        img = img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def figure_png(fig: Figure) -> bytes:
    """A matplotlib figure (drawn on an Agg canvas) as palette PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return png_bytes(Image.open(buf))


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"
