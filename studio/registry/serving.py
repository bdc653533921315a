"""What the app serves: manifest entries, their recorded metrics, and lazily opened ONNX sessions.

No torch here. A missing or broken file makes its model unavailable, with the command that
rebuilds it; it never stops the app.

Sessions open on first use, not at start-up: ORT optimises a graph as it opens it, and an unrolled
decoder (the music flow: 3.4 s) would hold up the first page. At start-up each file is only read for its
contract metadata (milliseconds), so a missing or unreadable file is marked unavailable at once;
``open_all`` opens the rest in the background once the server is up.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from studio.onnx.contract import META_CONDITIONS, REQUIRED_META, SAMPLE_OUTPUT
from studio.onnx.options import file_facts
from studio.onnx.runtime import (
    AutoregressiveGenerator,
    GeneratorUnavailable,
    OnnxGenerator,
    load_generator,
    make_session,
)
from studio.registry import manifest
from studio.registry.record import Modality


class UnknownModel(KeyError):
    pass


@dataclass
class ServedModel:
    entry: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None  # why it cannot be served; None while it can (opened or not yet)
    opened: OnnxGenerator | AutoregressiveGenerator | None = None
    opener: Callable[[ServedModel], None] | None = field(default=None, repr=False)  # opens it on first use
    #: the contract's conditions its file takes ("class", "region"), read from its metadata without opening it
    conditions: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.entry["id"]

    @property
    def generator(self) -> OnnxGenerator | AutoregressiveGenerator | None:
        """The opened generator, opening it now if it was not yet; None when it cannot be served."""
        if self.opened is None and self.problem is None and self.opener is not None:
            self.opener(self)
        return self.opened

    @property
    def available(self) -> bool:
        return self.problem is None

    @property
    def sampling(self) -> dict[str, Any]:
        """The default sampling settings its numbers were scored with (e.g. {"temperature": 0.9}); {} for none."""
        return dict(self.metrics.get("sampling") or {})

    @property
    def rebuild_command(self) -> str:
        return self.entry.get("rebuild") or (
            f"python scripts/train_{self.entry['family']}.py --modality {self.entry['modality']}")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def check_sample_type(generator: OnnxGenerator | AutoregressiveGenerator, modalities: Sequence[Modality]) -> None:
    """A one-shot generator's samples must be what its registered modality serves; raises GeneratorUnavailable."""
    record = next((m for m in modalities if m.name == generator.info.modality), None)
    if record is None:
        known = ", ".join(m.name for m in modalities)
        raise GeneratorUnavailable(f"{generator.path} is a {generator.info.modality!r} generator; this app serves "
                                   f"{known}")
    if isinstance(generator, OnnxGenerator):
        found = next(o.type for o in generator.session.get_outputs() if o.name == SAMPLE_OUTPUT)
        if found != record.sample_type:
            raise GeneratorUnavailable(f"{generator.path} returns {found} samples; {record.name} samples are "
                                       f"{record.sample_type}. Re-export it with its training script.")


@functools.lru_cache(maxsize=16)
def _extra_session(path: str, sha256: str):  # noqa: ANN202 - an ORT session; sha256: a changed file is reopened
    return make_session(path, device="cpu")


class ModelRegistry:
    """Every manifest entry, opened once; a broken one is kept as unavailable with its reason."""

    def __init__(self, root: str | Path = manifest.TRAINED_DIR, device: str = "auto",
                 modalities: Sequence[Modality] = ()):
        self.root = Path(root)
        self.device = device
        self.modalities = tuple(modalities)  # when given, each file is checked against its modality's sample type
        self.models: dict[str, ServedModel] = {}
        self.variants: dict[str, ServedModel] = {}  # "<id>@int8" and the like: served, not listed by ids()
        self.manifest_problem: str | None = None
        self._lock = threading.Lock()
        self._open_locks: dict[str, threading.Lock] = {}
        try:
            entries = manifest.entries(self.root)
        except manifest.ManifestError as exc:
            entries, self.manifest_problem = [], str(exc)
        for entry in entries:
            model = ServedModel(entry, _read_json(manifest.path_of(entry, "metrics", self.root)),
                                _read_json(manifest.path_of(entry, "curves", self.root)), opener=self._open)
            self._precheck(model)
            self.models[model.id] = model
            for variant_entry in manifest.variants(entry):
                variant = ServedModel(variant_entry, _read_json(manifest.path_of(variant_entry, "metrics", self.root)),
                                      model.curves, opener=self._open)
                self._precheck(variant)
                self.variants[variant.id] = variant

    def _precheck(self, model: ServedModel) -> None:
        """Without opening a session: the file exists and carries the generator contract's metadata."""
        path = manifest.path_of(model.entry, "onnx", self.root)
        if not path.exists():
            model.problem = f"{path} does not exist"
            return
        try:
            _, metadata = file_facts(path)
        except (OSError, ValueError, IndexError, UnicodeDecodeError) as exc:
            model.problem = f"{path} is not a readable ONNX file ({exc})"
            return
        missing = [key for key in REQUIRED_META if key not in metadata]
        if missing:
            model.problem = f"{path} is not a readable ONNX generator (its metadata lacks {', '.join(missing)})"
            return
        try:
            model.conditions = tuple(json.loads(metadata.get(META_CONDITIONS, "[]")))
        except ValueError:
            model.problem = f"{path} is not a readable ONNX generator (its {META_CONDITIONS} is not a JSON list)"

    def _open(self, model: ServedModel) -> None:
        """Open (or reopen) the model's file; one opening per model at a time, others wait for it."""
        with self._lock:
            lock = self._open_locks.setdefault(model.id, threading.Lock())
        with lock:
            path = manifest.path_of(model.entry, "onnx", self.root)
            if model.opened is not None and model.opened.path.exists():
                return  # another thread opened it meanwhile
            try:
                generator = load_generator(path, device=self.device)
                if self.modalities:
                    check_sample_type(generator, self.modalities)
                model.opened, model.problem = generator, None
            except GeneratorUnavailable as exc:
                model.opened, model.problem = None, str(exc)

    def open_all(self) -> None:
        """Open every servable model now (the app calls it in the background once its page is served)."""
        for model in [*self.models.values(), *self.variants.values()]:
            if model.available:
                model.generator  # noqa: B018 - opens it

    def ids(self, modality: str | None = None) -> list[str]:
        return [m for m, s in self.models.items() if modality is None or s.entry["modality"] == modality]

    def variants_of(self, model_id: str) -> list[ServedModel]:
        return [v for v in self.variants.values() if v.entry["base"] == model_id]

    def get(self, model_id: str) -> ServedModel:
        if model_id in self.models:
            return self.models[model_id]
        if model_id in self.variants:
            return self.variants[model_id]
        known = ", ".join([*self.models, *self.variants]) or "none"
        raise UnknownModel(f"Unknown model '{model_id}'. Choose one of: {known}.")

    def generator(self, model_id: str) -> OnnxGenerator | AutoregressiveGenerator:
        """The model's generator, reopening it if its file was fixed since start-up."""
        model = self.get(model_id)
        if model.opened is None or not model.opened.path.exists():
            self._open(model)
        if model.opened is None:
            raise GeneratorUnavailable(
                f"Model '{model_id}' is unavailable: {model.problem}. Rebuild it with: {model.rebuild_command}")
        return model.opened

    def extra_session(self, model_id: str, key: str):  # noqa: ANN201 - an onnxruntime.InferenceSession
        """An ONNX file a model ships besides its generator (e.g. "encoder"), opened once on the CPU.
        Raises GeneratorUnavailable with the rebuild command when it is missing or broken."""
        model = self.get(model_id)
        try:
            return _extra_session(str(manifest.path_of(model.entry, key, self.root)), model.entry[key]["sha256"])
        except Exception as exc:  # noqa: BLE001 - a missing file, or ORT's several errors for a corrupt one
            raise GeneratorUnavailable(f"The {key} of '{model_id}' could not be opened ({exc}). Rebuild it with "
                                       f"{model.rebuild_command}") from None
