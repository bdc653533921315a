"""The only reader and writer of ``trained/manifest.json``.

Every committed generator has one entry: its ONNX file and sha256, its config, metrics,
card, curves and preview, the steps trained, the data set and the git commit. The app
lists only what the manifest lists.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

from studio import REPO_ROOT
from studio.atomic import atomic_write_json

MANIFEST_VERSION = 1
TRAINED_DIR = REPO_ROOT / "trained"
HELDOUT_DIR = TRAINED_DIR / "_heldout"  # held-out real items that human evaluation mixes with samples

#: Files every entry's folder holds, by manifest key.
ENTRY_FILES = ("onnx", "config", "metrics", "card", "curves", "preview")
#: Files some entries have besides the generator, each as {"path", "sha256"} (e.g. a token decoder;
#: "openings": held-out music the app continues or encodes, so it needs no data set; "samples_head": the first
#: samples of the recorded draw, which tests compare with what the file draws on this CPU).
EXTRA_FILES = ("decoder", "encoder", "openings", "samples_head")
#: A variant (e.g. int8) is served as "<id>@<name>": same model, another file. An entry lists its variants as
#: {"variants": {name: {"onnx", "sha256", "metrics", "precision", "method", "speedup", "rebuild"}}}.
VARIANT_SEP = "@"


class ManifestError(ValueError):
    """The manifest is missing, malformed or names an unknown model."""


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def git_commit(repo: Path = REPO_ROOT) -> str:
    """The commit the code was at when a model was trained ('unknown' outside git)."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10
        )
        commit = out.stdout.strip()
        if out.returncode != 0 or not commit:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "studio", "scripts"], cwd=repo,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def load(root: str | Path = TRAINED_DIR) -> dict[str, Any]:
    path = Path(root) / "manifest.json"
    if not path.exists():
        return {"version": MANIFEST_VERSION, "models": []}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ManifestError(f"{path} is not valid JSON ({exc}); restore it with `git checkout {path}`") from exc
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ManifestError(f"{path} must hold {{'version': ..., 'models': [...]}}")
    return data


def entries(root: str | Path = TRAINED_DIR) -> list[dict[str, Any]]:
    return list(load(root)["models"])


def variant_entry(entry: dict[str, Any], name: str) -> dict[str, Any]:
    """The entry of one of ``entry``'s variants: its own id, file, sha256, metrics and rebuild command."""
    variant = entry["variants"][name]
    fields = {k: v for k, v in entry.items() if k != "variants"}
    return {**fields, **{k: variant[k] for k in ("onnx", "sha256", "metrics", "rebuild") if k in variant},
            "id": f"{entry['id']}{VARIANT_SEP}{name}", "base": entry["id"], "variant": name,
            "precision": variant.get("precision", name), "method": variant.get("method", ""),
            "speedup": variant.get("speedup", {})}


def variants(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [variant_entry(entry, name) for name in entry.get("variants", {})]


def get(model_id: str, root: str | Path = TRAINED_DIR) -> dict[str, Any]:
    """An entry by id; "<id>@<variant>" gives that variant's entry."""
    base, _, name = model_id.partition(VARIANT_SEP)
    for entry in entries(root):
        if entry["id"] == base:
            if not name:
                return entry
            if name in entry.get("variants", {}):
                return variant_entry(entry, name)
            have = ", ".join(entry.get("variants", {})) or "none"
            raise ManifestError(f"{base!r} has no {name!r} variant (its variants: {have})")
    known = ", ".join(e["id"] for e in entries(root)) or "none"
    raise ManifestError(f"unknown model {model_id!r}; known models: {known}")


def path_of(entry: dict[str, Any], key: str, root: str | Path = TRAINED_DIR) -> Path:
    """Absolute path of one of an entry's files (paths in the manifest are relative to trained/)."""
    value = entry[key]
    return Path(root) / (value["path"] if isinstance(value, dict) else value)


def upsert(entry: dict[str, Any], root: str | Path = TRAINED_DIR) -> None:
    """Add or replace the entry with the same id, keeping the others in order."""
    data = load(root)
    models = [e for e in data["models"] if e["id"] != entry["id"]]
    models.append(entry)
    models.sort(key=lambda e: (e.get("modality", ""), e["id"]))
    data["models"] = models
    data["version"] = MANIFEST_VERSION
    atomic_write_json(Path(root) / "manifest.json", data)


def verify(root: str | Path = TRAINED_DIR) -> list[str]:
    """Problems with the committed files versus the manifest; an empty list means all is well."""
    problems = []
    for entry in entries(root):
        for key in ENTRY_FILES:
            if key not in entry:
                problems.append(f"{entry['id']}: manifest entry has no {key!r}")
            elif not path_of(entry, key, root).exists():
                problems.append(f"{entry['id']}: {entry[key]} is missing")
        onnx_path = path_of(entry, "onnx", root)
        if onnx_path.exists() and sha256_of(onnx_path) != entry.get("sha256"):
            problems.append(f"{entry['id']}: {entry['onnx']} does not match its sha256 in the manifest")
        for key in EXTRA_FILES:
            if key in entry:
                extra = path_of(entry, key, root)
                if not extra.exists():
                    problems.append(f"{entry['id']}: {entry[key]['path']} is missing")
                elif sha256_of(extra) != entry[key]["sha256"]:
                    problems.append(f"{entry['id']}: {entry[key]['path']} does not match its sha256 in the manifest")
        for variant in variants(entry):
            for key in ("onnx", "metrics"):
                if not path_of(variant, key, root).exists():
                    problems.append(f"{variant['id']}: {variant[key]} is missing")
            variant_path = path_of(variant, "onnx", root)
            if variant_path.exists() and sha256_of(variant_path) != variant["sha256"]:
                problems.append(f"{variant['id']}: {variant['onnx']} does not match its sha256 in the manifest")
    return problems
