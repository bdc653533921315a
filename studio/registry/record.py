"""What a modality package registers: its name, tab title, metric schema, and where its parts live.

The core never imports a modality; it is handed this record. The heavy parts (recipes need torch,
the tab needs gradio) are imported on first use, so reading a record costs nothing.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

from studio.evaluation.schema import MetricSchema

if TYPE_CHECKING:
    from studio.evaluation.protocol import Protocol


class DataMissing(FileNotFoundError):
    """A data set is not installed; the message names the script that installs it."""


@dataclass(frozen=True)
class Modality:
    """One registered modality. ``package`` holds ``recipes.py`` (RECIPES, load_data), ``protocol.py``
    (PROTOCOL), ``tab.py`` (build_tab, build_compare) and ``human_eval.py`` (items for human evaluation)."""

    name: str  # "image": the manifest's modality and the scripts' --modality
    title: str  # the app's tab title
    schema: MetricSchema
    package: str  # e.g. "studio.image"
    sample_type: str  # the ONNX element type of its one-shot samples, e.g. "tensor(uint8)"

    def _part(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def recipes(self) -> ModuleType:
        """The training recipes (imports torch)."""
        return self._part("recipes")

    def protocol(self) -> Protocol:
        """The evaluation protocol: sample count, seed, reference, how to draw and score."""
        return self._part("protocol").PROTOCOL

    def human_eval(self) -> ModuleType:
        """Items for human evaluation: KIND, MAIN_METRICS, real_count, real_item, model_item (imports gradio)."""
        return self._part("human_eval")

    def tab(self) -> ModuleType:
        """The app's tab and compare section (imports gradio)."""
        return self._part("tab")

    @property
    def tab_id(self) -> str:
        return f"tab-{self.title.lower()}"
