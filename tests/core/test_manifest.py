"""The committed trained/ folder matches its manifest, and every file there follows the contract."""

from __future__ import annotations

import json

import pytest

from studio import manifest
from studio.contract import validate_file
from studio.modalities import BY_NAME

ENTRIES = manifest.entries()
MAX_ONNX_BYTES = 10 * 1024 * 1024  # a Space refuses larger files without LFS
def test_manifest_lists_the_image_gan_and_vae():
    ids = {e["id"] for e in ENTRIES}
    assert {"image-gan", "image-vae"} <= ids


def test_committed_files_match_the_manifest():
    assert manifest.verify() == []


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_entry_is_complete_and_valid(entry):
    for key in ("sha256", "steps", "dataset", "git_commit", "family", "modality"):
        assert entry.get(key) not in (None, ""), f"{entry['id']} has no {key}"
    path = manifest.path_of(entry, "onnx")
    assert path.stat().st_size < MAX_ONNX_BYTES
    info = validate_file(path)
    assert (info.family, info.modality) == (entry["family"], entry["modality"])
    metrics = json.loads(manifest.path_of(entry, "metrics").read_text())
    schema = BY_NAME[entry["modality"]].schema
    for key in (*schema.table, *schema.compared, "n_samples", "seed", "params", "onnx_bytes", "train_minutes"):
        assert key in metrics, f"{entry['id']} metrics lack {key}"
    assert schema.migrate(metrics) == metrics, "recorded under old keys: run python scripts/refresh_records.py"
    if entry["family"] == "gan":
        assert not any(k.startswith("likelihood") for k in metrics)  # a GAN has no likelihood: absent, not 0
    else:
        assert metrics["likelihood"] > 0 and metrics["likelihood_unit"].startswith("bits/")
        assert metrics["likelihood_kind"] == {"vae": "bound", "flow": "dequantized", "transformer": "exact"}[
            entry["family"]]


def test_sha_mismatch_is_reported(tmp_path):
    import shutil

    shutil.copytree(manifest.TRAINED_DIR, tmp_path / "trained")
    entry = manifest.entries(tmp_path / "trained")[0]
    onnx_path = manifest.path_of(entry, "onnx", tmp_path / "trained")
    onnx_path.write_bytes(onnx_path.read_bytes() + b"\0")
    problems = manifest.verify(tmp_path / "trained")
    assert any("sha256" in p for p in problems)


def test_upsert_replaces_by_id_and_writes_atomically(tmp_path):
    manifest.upsert({"id": "x", "modality": "image", "v": 1}, tmp_path)
    manifest.upsert({"id": "y", "modality": "image", "v": 1}, tmp_path)
    manifest.upsert({"id": "x", "modality": "image", "v": 2}, tmp_path)
    assert [(e["id"], e["v"]) for e in manifest.entries(tmp_path)] == [("x", 2), ("y", 1)]
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_unknown_model_names_the_known_ones():
    with pytest.raises(manifest.ManifestError, match="known models: .*image-gan"):
        manifest.get("nope")


def test_every_text_model_meets_the_diversity_bar_and_the_vae_uses_its_latent():
    entries = {e["id"]: e for e in manifest.entries() if e["modality"] == "text"}
    for entry in entries.values():
        metrics = json.loads(manifest.path_of(entry, "metrics").read_text())
        assert metrics["distinct_2"] >= 0.5 * metrics["distinct_2_real"] and not metrics["collapsed"], entry["id"]
    if "text-vae" in entries:
        vae = json.loads(manifest.path_of(entries["text-vae"], "metrics").read_text())
        assert vae["active_units"] >= 4 and vae["kl_nats"] > 0
