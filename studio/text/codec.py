"""Text: character ids <-> strings, user prompts mapped onto a model's charset, text pictures. No torch."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Typographic characters a user may paste, written the way the corpus writes them.
_PLAIN = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2014": "--", "\u2013": "-",
          "\u2026": "...", "\t": " ", "\r\n": "\n", "\r": "\n", "\u00a0": " "}
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf")


@dataclass(frozen=True)
class MappedPrompt:
    ids: np.ndarray  # int64 [T]
    text: str  # the prompt as the model sees it
    dropped: str  # characters that had no counterpart in the charset, in order, without repeats


def decode(ids: np.ndarray, charset: str) -> str:
    """int [T] -> the string; ids outside the charset (a BOS) are skipped."""
    return "".join(charset[i] for i in np.asarray(ids).tolist() if 0 <= i < len(charset))


def decode_lines(ids: np.ndarray, charset: str) -> list[str]:
    """int [N, L] fixed-length lines -> strings without the trailing padding. A line model may draw a
    newline, which its data never holds inside a line: it reads as a space, so one line stays one line."""
    return [decode(row, charset).replace("\n", " ").rstrip() for row in ids]


def map_prompt(text: str, charset: str) -> MappedPrompt:
    """A user's text on the charset: typographic quotes and dashes made plain, accents removed,
    anything else unknown dropped (and reported, so the app can say so)."""
    for fancy, plain in _PLAIN.items():
        text = text.replace(fancy, plain)
    known = set(charset)
    kept, dropped = [], []
    for ch in text:
        if ch not in known:
            base = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            if base and all(b in known for b in base):
                kept.append(base)
                continue
            if ch not in dropped:
                dropped.append(ch)
            continue
        kept.append(ch)
    mapped = "".join(kept)
    index = {c: i for i, c in enumerate(charset)}
    return MappedPrompt(np.array([index[c] for c in mapped], dtype=np.int64), mapped, "".join(dropped))


def encode_lines(lines: list[str], charset: str, length: int, pad: str = " ") -> np.ndarray:
    """Strings -> int64 [N, length], mapped onto the charset, cut or padded to ``length``."""
    rows = []
    for line in lines:
        mapped = map_prompt(line.replace("\n", " "), charset).text[:length].ljust(length, pad)
        rows.append([charset.index(c) for c in mapped])
    return np.array(rows, dtype=np.int64).reshape(len(lines), length)


def text_image(lines: list[str], width_chars: int = 64, title: str | None = None) -> np.ndarray:
    """Lines of text as a uint8 RGB picture (for previews in model cards)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(str(FONT), 14) if FONT.exists() else ImageFont.load_default()
    rows = ([title, ""] if title else []) + [line[:width_chars] for line in lines]
    char_w, line_h = 9, 18
    img = Image.new("RGB", (16 + char_w * width_chars, 16 + line_h * len(rows)), "white")
    draw = ImageDraw.Draw(img)
    for i, row in enumerate(rows):
        draw.text((8, 8 + i * line_h), row, fill=(90, 90, 90) if title and i == 0 else (20, 20, 20), font=font)
    return np.asarray(img)
