"""A registered model's stored samples: its first samples of the recorded draw, written beside it and listed
in the manifest, which tests and ``scripts/evaluate.py`` compare with what the file draws (studio.evaluation.heads)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from studio.evaluation.heads import HEAD_FILE, draw_head, write_head
from studio.evaluation.protocol import Protocol
from studio.onnx.runtime import load_generator
from studio.registry import manifest


def record_head(entry: dict[str, Any], root: str | Path, protocol: Protocol) -> dict[str, str]:
    """Draw a registered model's head at its recorded seed and sampling into its folder; returns the manifest's
    {"path", "sha256"} for it."""
    recorded = json.loads(manifest.path_of(entry, "metrics", root).read_text())
    generator = load_generator(manifest.path_of(entry, "onnx", root), device="cpu")
    seed, sampling = recorded.get("seed", protocol.seed), recorded.get("sampling")
    relative = f"{entry['id']}/{HEAD_FILE}"
    write_head(Path(root) / relative, draw_head(generator, protocol, seed, sampling), seed, sampling)
    return {"path": relative, "sha256": manifest.sha256_of(Path(root) / relative)}
