"""What each tab shows when the page opens, drawn after the server starts instead of before it.

Drawing every tab's first samples, audio and charts before serving made the first page wait 10-30 s. Now a
tab builds its components empty and registers how to fill them (``show_on_open``); the page fills them as it
opens (a load event per part, each with its own spinner), and ``warm`` draws every part once, in the order
the tabs were built, as soon as the server is up, so a visitor usually gets finished values from memory.
The values are the same for every visitor (seed 0, default settings), so each part is drawn once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr
from gradio.context import Context

log = logging.getLogger(__name__)


@dataclass
class Part:
    name: str
    outputs: list[gr.components.Component]
    compute: Callable[[], Any]  # -> one value per output (a tuple), or the value of a single output
    lock: threading.Lock = field(default_factory=threading.Lock)
    value: Any = None
    done: bool = False

    def get(self) -> Any:
        """The part's values, drawn on the first call (later callers wait for it, then share it)."""
        with self.lock:
            if not self.done:
                try:
                    self.value = self.compute()
                except Exception:  # noqa: BLE001 - a part that fails stays empty; its own button still works
                    log.exception("the first screen's %s could not be drawn", self.name)
                    skip = gr.skip()
                    self.value = skip if len(self.outputs) == 1 else tuple(skip for _ in self.outputs)
                self.done = True
        return self.value


class FirstScreen:
    """The parts registered while one app is built."""

    def __init__(self) -> None:
        self.parts: list[Part] = []

    def warm(self) -> None:
        """Draw every part now, in build order (the app runs this in a thread once it serves)."""
        for part in self.parts:
            part.get()


_building: FirstScreen | None = None


def begin() -> FirstScreen:
    """Start collecting the parts of the app being built."""
    global _building
    _building = FirstScreen()
    return _building


def show_on_open(outputs: gr.components.Component | Sequence[gr.components.Component], compute: Callable[[], Any],
                 name: str) -> None:
    """Fill ``outputs`` with ``compute()`` when the page opens (inside a ``gr.Blocks`` being built)."""
    outputs = [outputs] if isinstance(outputs, gr.components.Component) else list(outputs)
    part = Part(name, outputs, compute)
    if _building is not None:
        _building.parts.append(part)
    root = Context.root_block
    if root is None:
        raise RuntimeError("show_on_open must be called while a gr.Blocks is being built")
    root.load(part.get, None, outputs, api_visibility="private", show_progress="full")
