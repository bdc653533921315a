"""The committed trained/ folder matches its manifest, and every file there follows the contract."""

from __future__ import annotations

import json

import pytest

from studio import manifest
from studio.contract import validate_file

ENTRIES = manifest.entries()
MAX_ONNX_BYTES = 10 * 1024 * 1024  # a Space refuses larger files without LFS
#: metrics every entry of a modality records (its protocol's headline numbers, with the sample count and seed)
REQUIRED_METRICS = {
    "image": ("fd", "precision", "recall", "density", "coverage", "classes_covered", "kl_to_uniform",
              "class_histogram", "n_samples", "seed"),
    "text": ("fd", "distinct_1", "distinct_2", "distinct_3", "distinct_2_real", "novelty", "real_word_share",
             "ref_perplexity", "collapsed", "n_samples", "seed"),
    "music": ("frechet_distance", "pitch_class_kl", "consonance_on_beats", "novelty", "distinct_fragments",
              "collapsed", "frechet_distance_real", "n_samples", "seed"),
}


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
    for key in REQUIRED_METRICS.get(entry["modality"], REQUIRED_METRICS["image"]):
        assert key in metrics, f"{entry['id']} metrics lack {key}"
    if entry["family"] == "gan":
        assert not any(k.startswith(("nll", "neg_elbo")) for k in metrics)  # a GAN has no likelihood
    if entry["family"] == "vae":  # bits per dim, char or token: a bound
        bound = next(v for k, v in metrics.items() if k.startswith(("neg_elbo_bpd", "neg_elbo_bits_per_")))
        assert bound > 0 and "bound" in metrics["likelihood_kind"]


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
