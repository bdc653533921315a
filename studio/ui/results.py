"""Finished results handed to gradio as files: written once, atomically, and remembered.

Why files, not arrays. Gradio 6 saves an output array under a hash of its content and writes that file
in place (``processing_utils.save_pil_to_cache``). Identical results of concurrent requests (a class all
pressing *Generate* on the default seed) therefore rewrite one file while another response is streaming
it: the client gets "peer closed connection without sending complete message body" and the server logs
h11's "Too little/much data for declared Content-Length" (cf. gradio issue #8878). A file *path* is
copied into gradio's cache under a staged name and renamed into place (``save_file_to_cache``), which is
safe. So pictures are written here, atomically, under their content hash, and handlers return the path.

Why a cache. Results are deterministic in (model, seed, settings), so handlers keep their finished files
in an LRU cache (``remembered``): a repeated request is answered from the completed file without running
the model again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from studio.atomic import atomic_write_bytes

#: Where this process keeps its result files (one folder per process, under the system's temp folder).
RESULTS_DIR = Path(tempfile.mkdtemp(prefix="studio-results-"))
CACHED_RESULTS = 256  # per handler; a 16-image grid is ~20 KiB, a 4-bar WAV ~0.5 MiB

F = TypeVar("F", bound=Callable)


def safe_name(stem: str, limit: int = 80) -> str:
    """``stem`` as a short file name: letters, digits, '-' and '_' only (a model id typed by anyone)."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem)[:limit] or "result"


def png_path(image: np.ndarray, stem: str = "image") -> str:
    """``image`` (uint8 [H, W] or [H, W, 3]) as a PNG file named by its content; written once, atomically."""
    from PIL import Image

    data = np.ascontiguousarray(image, dtype=np.uint8)
    digest = hashlib.sha256(f"{data.shape}".encode() + data.tobytes()).hexdigest()[:24]
    path = RESULTS_DIR / f"{safe_name(stem)}-{digest}.png"
    if not path.exists():
        buffer = io.BytesIO()
        Image.fromarray(data).save(buffer, format="PNG")
        atomic_write_bytes(path, buffer.getvalue())
    return str(path)


def bytes_path(data: bytes, name: str) -> str:
    """``data`` as a file called ``name`` in a folder named by its content; written once, atomically."""
    folder = RESULTS_DIR / hashlib.sha256(data).hexdigest()[:24]
    stem, dot, suffix = name.rpartition(".")
    path = folder / (f"{safe_name(stem)}.{suffix}" if dot else safe_name(name))
    if not path.exists():
        atomic_write_bytes(path, data)
    return str(path)


def remembered(function: F) -> F:
    """An LRU cache for a handler whose result depends only on its (hashable, already checked) arguments."""
    return functools.lru_cache(maxsize=CACHED_RESULTS)(function)  # type: ignore[return-value]


def figure_path(figure: object, stem: str) -> str:
    """A matplotlib figure as a PNG file (written once, atomically): charts travel as files, like pictures,
    so a repeated request costs no re-encoding and screen readers get the image's alt text."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)  # type: ignore[attr-defined]
    return bytes_path(buffer.getvalue(), f"{stem}.png")
