"""The committed trained/ folder matches its manifest, and every file there follows the contract."""

from __future__ import annotations

import json

import pytest

from studio.modalities import BY_NAME
from studio.onnx.contract import validate_file
from studio.registry import manifest

ENTRIES = manifest.entries()
MAX_ONNX_BYTES = 10 * 1024 * 1024  # a Space refuses larger files without LFS
def test_manifest_lists_the_image_gan_and_vae():
    ids = {e["id"] for e in ENTRIES}
    assert {"image-gan", "image-vae"} <= ids


def test_committed_files_match_the_manifest():
    assert manifest.verify() == []


#: models of a likelihood family trained without one: the masked-token Transformer (MaskGIT) has no tractable
#: likelihood of a whole sample
WITHOUT_LIKELIHOOD = {"image-transformer-steer"}


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
    if entry["family"] == "gan" or entry["id"] in WITHOUT_LIKELIHOOD:
        assert not any(k.startswith("likelihood") for k in metrics)  # no likelihood: absent, not 0
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


VARIANTS = [v for e in ENTRIES for v in manifest.variants(e)]


@pytest.mark.parametrize("variant", VARIANTS, ids=[v["id"] for v in VARIANTS])
def test_a_registered_variant_follows_the_contract_and_earned_its_place(variant):
    """scripts/quantize.py registers a variant only if it keeps the main metric within 5% and is 1.3x faster."""
    path = manifest.path_of(variant, "onnx")
    assert path.stat().st_size < MAX_ONNX_BYTES
    info = validate_file(path)
    assert (info.family, info.modality) == (variant["family"], variant["modality"])
    assert manifest.get(variant["id"])["sha256"] == manifest.sha256_of(path)
    modality = BY_NAME[variant["modality"]]
    key = modality.human_eval().MAIN_METRICS[0]
    base = json.loads(manifest.path_of(manifest.get(variant["base"]), "metrics").read_text())
    own = json.loads(manifest.path_of(variant, "metrics").read_text())
    assert abs(own[key] - base[key]) <= 0.05 * abs(base[key])
    assert min(variant["speedup"].values()) >= 1.3


def test_an_unknown_variant_names_the_ones_there_are():
    with pytest.raises(manifest.ManifestError, match="no 'fp4' variant"):
        manifest.get("image-gan@fp4")


def test_a_variant_with_a_changed_file_is_reported(tmp_path):
    import shutil

    entry = manifest.get("image-gan")
    shutil.copytree(manifest.TRAINED_DIR / "image-gan", tmp_path / "image-gan")
    shutil.copyfile(manifest.path_of(entry, "onnx"), tmp_path / "image-gan" / "generator.fp4.onnx")
    variant = {"onnx": "image-gan/generator.fp4.onnx", "sha256": "0" * 64, "metrics": "image-gan/metrics.fp4.json",
               "precision": "fp4"}
    manifest.upsert({**entry, "variants": {"fp4": variant}}, tmp_path)
    problems = manifest.verify(tmp_path)
    assert any("image-gan@fp4" in p and "sha256" in p for p in problems)
    assert any("image-gan@fp4" in p and "metrics.fp4.json is missing" in p for p in problems)
