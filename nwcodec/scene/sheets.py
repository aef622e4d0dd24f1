"""Labelled contact sheets: per view, ground truth beside the decoded render, with its PSNR."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from nwcodec.nerf.video import to_uint8

LABEL_H = 14  # pixels of caption above each image


def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default()


def labelled_sheet(truth: np.ndarray, decoded: np.ndarray, psnrs: list[float], path: str | Path,
                   title: str = "", pairs_per_row: int = 4, pad: int = 4) -> Path:
    """A PNG of ``[N,H,W,3]`` pairs: "ground truth k" | "decoded k: P dB"; ``title`` on top. Returns the path."""
    truth, decoded = to_uint8(truth), to_uint8(decoded)
    n, h, w = truth.shape[:3]
    cols = max(1, min(pairs_per_row, n))
    rows = math.ceil(n / cols)
    font = _font()
    caption = max(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(t, font=font)
                  for t in ("ground truth 00", "decoded 00.00 dB"))
    col_w = max(w, int(caption) + 2)  # captions never overlap the neighbouring image
    cell_w, cell_h = 2 * col_w + pad, h + LABEL_H
    top = LABEL_H + pad if title else 0
    sheet = Image.new("RGB", (max(cols * (cell_w + pad) + pad, int(caption) * 3), top + rows * (cell_h + pad) + pad),
                      "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, 2), title, fill="black", font=font)
    for k in range(n):
        r, c = divmod(k, cols)
        x, y = pad + c * (cell_w + pad), top + pad + r * (cell_h + pad)
        draw.text((x, y), f"ground truth {k}", fill="black", font=font)
        draw.text((x + col_w + pad, y), f"decoded {psnrs[k]:.2f} dB", fill="black", font=font)
        sheet.paste(Image.fromarray(truth[k, ..., :3]), (x, y + LABEL_H))
        sheet.paste(Image.fromarray(decoded[k, ..., :3]), (x + col_w + pad, y + LABEL_H))
    path = Path(path)
    sheet.save(path)
    return path


def labelled_frames(frames: np.ndarray, path: str | Path, title: str = "", columns: int = 6, pad: int = 4) -> Path:
    """A PNG grid of orbit frames, each captioned with its frame number."""
    frames = to_uint8(frames)
    n, h, w = frames.shape[:3]
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    top = LABEL_H + pad if title else 0
    font = _font()
    w_col = max(w, int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength("frame 00", font=font)) + 2)
    sheet = Image.new("RGB", (cols * (w_col + pad) + pad, top + rows * (h + LABEL_H + pad) + pad), "white")
    draw = ImageDraw.Draw(sheet)
    if title:
        draw.text((pad, 2), title, fill="black", font=font)
    for k in range(n):
        r, c = divmod(k, cols)
        x, y = pad + c * (w_col + pad), top + pad + r * (h + LABEL_H + pad)
        draw.text((x, y), f"frame {k}", fill="black", font=font)
        sheet.paste(Image.fromarray(frames[k, ..., :3]), (x, y + LABEL_H))
    path = Path(path)
    sheet.save(path)
    return path
