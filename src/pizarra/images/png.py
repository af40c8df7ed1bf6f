"""Grayscale PNG files from uint8 arrays, with the standard library only (zlib + struct)."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(img: np.ndarray, scale: int = 1) -> bytes:
    """uint8 (H, W) -> PNG bytes (8-bit grayscale), each pixel repeated ``scale`` times."""
    img = np.asarray(img, dtype=np.uint8)
    if scale > 1:
        img = img.repeat(scale, 0).repeat(scale, 1)
    h, w = img.shape
    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit, grayscale
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")
    )


def data_uri(img: np.ndarray, scale: int = 1) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(img, scale)).decode()


def grid(images: np.ndarray, cols: int = 8, pad: int = 2) -> np.ndarray:
    """uint8 (N, H, W) -> one (rows·(H+pad)+pad, cols·(W+pad)+pad) picture, pictures in reading order."""
    n, h, w = images.shape
    cols = max(1, min(cols, n))
    rows = -(-n // cols)
    out = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad), 40, dtype=np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = img
    return out
