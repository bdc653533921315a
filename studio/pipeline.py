"""Train -> export -> evaluate -> register: the shared body of every scripts/train_*.py."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

from studio import manifest, presets, recipes
from studio.atomic import atomic_write_json
from studio.card import plot_curves, write_card
from studio.data import DataMissing
from studio.train import LOG, PREVIEW, LoopConfig, Trainer, curves_from_log

REPO = manifest.REPO_ROOT

DESCRIPTIONS = {
    ("gan", "image"): "DCGAN-style generator (nearest upsampling + 3x3 convs, BatchNorm) trained against a "
                      "spectrally normalised discriminator with the hinge loss, TTUR learning rates, Adam "
                      "betas (0, 0.9); the exported weights are the EMA of the generator.",
    ("vae", "image"): "Convolutional VAE with a discretised-logistic pixel likelihood and a linear KL warm-up. "
                      "The exported generator is the decoder (z -> mean image).",
    ("transformer", "image"): "Two stages: a VQ-VAE turns each image into a 7x7 grid of codes (128 symbols), then a "
                              "GPT-2 built by `transformers` from a config learns the code sequences. Codes rather "
                              "than pixels: 49 tokens instead of 784 make training and sampling fast enough for a "
                              "2-core CPU, and the prior spends its capacity on shapes, not pixel noise. The exported "
                              "step graph carries an explicit KV cache; decoder.onnx turns codes into pixels.",
    ("transformer", "text"): "A character-level GPT-2 built by `transformers` from a config (nothing downloaded), "
                             "trained on random 128-character windows of the training plays. The exported step graph "
                             "carries an explicit KV cache; the app continues a prompt with temperature, top-k and "
                             "top-p and streams the text. Its bits/char on the held-out plays is exact.",
    ("vae", "text"): "A sentence VAE over 48-character lines (Bowman et al. 2016): a bidirectional GRU encoder, a GRU "
                     "decoder fed z at every step. Posterior collapse is countered by a linear KL warm-up, free bits "
                     "(a KL floor per latent unit) and 30% word dropout on the decoder's inputs. The exported "
                     "generator decodes greedily from z; encoder.onnx maps a line to its posterior mean, for "
                     "interpolation. Its bits/char is a bound (negative ELBO).",
    ("gan", "text"): "A character-level line GAN after Gulrajani et al. 2017: WGAN-GP (gradient penalty 10, 5 critic "
                     "steps per generator step, Adam 1e-4, betas 0.5/0.9); 1-D residual convolutions; the critic "
                     "reads one-hot real lines and softmax fake ones; the exported graph takes the argmax. A GAN "
                     "has no likelihood.",
    ("flow", "text"): "A Glow-style flow over 48-character lines: each character id is written in 7 binary digits, "
                      "dequantized uniformly (digit + U[0,1)) and laid out as a 7x4x12 tensor. The bits/char is exact "
                      "for the dequantized model and an upper bound on the NLL of the text itself. Sampling runs "
                      "the inverse and reads the digits back (ids past the charset become spaces).",
    ("transformer", "music"): "A GPT-2 built by `transformers` from a config over Bach's four voices interleaved "
                              "(soprano, alto, tenor, bass of each 16th-note step in turn: 256 tokens per 4-bar "
                              "fragment). The exported step graph carries an explicit KV cache; the app continues the "
                              "opening bars of a held-out chorale (openings.json) and writes longer pieces bar by bar, "
                              "restarting its window on a bar line. Its bits/token on the held-out chorales is exact.",
    ("vae", "music"): "A MusicVAE-style VAE over 4-bar fragments (Roberts et al. 2018): a bidirectional GRU encoder; "
                      "a hierarchical decoder (a conductor GRU gives one embedding per bar, a bar decoder GRU writes "
                      "its 16 steps, all four voices per step, restarting from the conductor every bar). Posterior "
                      "collapse is countered by that hierarchy, a linear KL warm-up, free bits and 30% dropout of the "
                      "decoder's previous-step tokens. The exported generator decodes greedily from z; encoder.onnx "
                      "maps a fragment to its posterior mean, for interpolation. Its bits/token is a bound.",
    ("gan", "music"): "A categorical GAN over 4-bar fragments: the generator grows z along time (bars, half bars, "
                      "beats, eighths, 16ths; MuseGAN-like) into a softmax over the 48 tokens for each voice and step; "
                      "a 1-D residual critic reads one-hot real and softmax fake fragments. WGAN-GP (penalty 10, 2 "
                      "critic steps per generator step, Adam 2e-4, betas 0.5/0.9); the exported graph takes the "
                      "argmax. A GAN has no likelihood.",
    ("flow", "music"): "A Glow-style flow over 4-bar fragments: each token is written in 6 binary digits, dequantized "
                       "uniformly (digit + U[0,1)) and laid out as a 6x64x4 tensor (digits x steps x voices). The "
                       "bits/token is exact for the dequantized model and an upper bound on the NLL of the music "
                       "itself. Sampling runs the inverse and reads the digits back (ids past the 48 tokens become "
                       "rests).",
    ("flow", "image"): "Multi-scale Glow-style flow (2 levels of ActNorm, invertible 1x1 conv and affine "
                       "coupling steps, learned conditional priors on the factored-out halves) trained by exact "
                       "maximum likelihood on uniformly dequantized pixels. The exported generator is the "
                       "inverse (noise -> image); scale the noise by T to sample at temperature T.",
}


def pick_device(requested: str) -> str:
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda was requested but PyTorch sees no CUDA GPU; use --device cpu")
    return requested


def parse_args(family: str, argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"train_{family}.py",
        description=f"Train, export, evaluate and register a {family.upper()} generator.")
    parser.add_argument("--modality", required=True, choices=("image", "text", "music"))
    parser.add_argument("--preset", default="cpu", choices=presets.PRESET_NAMES,
                        help="tiny: seconds (tests); cpu: a 2-core laptop; gpu: a real card (default: cpu)")
    parser.add_argument("--steps", type=int, default=None, help="override the preset's number of steps")
    parser.add_argument("--data-dir", default=None, help="folder holding the data set (default: the installed one)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--out-dir", default=None,
                        help="where the generator is registered (default: trained/, or runs/tiny/trained for tiny)")
    parser.add_argument("--run-dir", default=None, help="checkpoints and logs (default: runs/<preset>/<id>)")
    parser.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    parser.add_argument("--eval-samples", type=int, default=None, help="override the evaluation sample count")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser.parse_args(argv)


def run(family: str, argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(family, argv)
    config = presets.resolve(family, args.modality, args.preset, args.steps)
    model_id = config["id"]
    commit = manifest.git_commit()  # the code that trains, read before a long run lets HEAD move
    out_root = Path(args.out_dir) if args.out_dir else (
        REPO / "runs" / "tiny" / "trained" if args.preset == "tiny" else manifest.TRAINED_DIR)
    run_dir = Path(args.run_dir) if args.run_dir else REPO / "runs" / args.preset / model_id
    device = pick_device(args.device)
    try:
        data = recipes.DATA_LOADERS[args.modality](args.data_dir)
    except DataMissing as exc:
        raise SystemExit(f"error: {exc}") from None

    summary: dict[str, Any] = {"rollbacks": 0}
    t0 = time.time()
    stage_dirs = []
    for stage, process, batches, loop_cfg in recipes.stages(config, data, device):
        stage_dir = run_dir / stage if stage else run_dir
        stage_dirs.append(stage_dir)
        trainer = Trainer(process, batches, LoopConfig(**loop_cfg), stage_dir, device=device,
                          resume=not args.fresh, show_progress=not args.quiet)
        result = trainer.fit()
        summary = {**result, "rollbacks": summary["rollbacks"] + result["rollbacks"]}
    process.cpu().eval()
    final_dir = stage_dirs[-1]

    entry_dir = out_root / model_id
    entry_dir.mkdir(parents=True, exist_ok=True)
    exported = process.export(entry_dir)
    onnx_path, parity = exported["onnx"], exported["parity"]

    n_eval = args.eval_samples or config["eval_samples"]
    try:
        metrics: dict[str, Any] = recipes.EVALUATORS[args.modality](onnx_path, n_eval)
    except FileNotFoundError as exc:  # a missing reference evaluator names its rebuild command
        raise SystemExit(f"error: {exc}") from None
    metrics.update(process.likelihood_metrics(data))
    onnx_bytes = onnx_path.stat().st_size + sum((entry_dir / f).stat().st_size for f in exported.get("files", {}).values())
    metrics.update({"params": process.generator_params(), "onnx_bytes": onnx_bytes,
                    "train_minutes": round(sum(trainer_minutes(d, 0.0) for d in stage_dirs)
                                           or (time.time() - t0) / 60.0, 2),
                    "rollbacks": summary["rollbacks"], "export_parity": parity})

    curves = curves_from_log(final_dir / LOG)
    atomic_write_json(entry_dir / "curves.json", curves)
    plot_curves(curves, entry_dir / "curves.png")
    shutil.copyfile(final_dir / PREVIEW, entry_dir / ".preview.tmp")
    (entry_dir / ".preview.tmp").replace(entry_dir / "preview.png")
    atomic_write_json(entry_dir / "config.json", config)
    atomic_write_json(entry_dir / "metrics.json", metrics)

    command = f"python scripts/train_{family}.py --modality {args.modality} --preset {args.preset}"
    entry = {
        "id": model_id, "family": family, "modality": args.modality, "kind": exported["kind"],
        "onnx": f"{model_id}/generator.onnx", "sha256": manifest.sha256_of(onnx_path),
        "config": f"{model_id}/config.json", "metrics": f"{model_id}/metrics.json",
        "card": f"{model_id}/card.md", "curves": f"{model_id}/curves.json", "preview": f"{model_id}/preview.png",
        "steps": summary["steps"], "preset": args.preset, "dataset": data["dataset"],
        "git_commit": commit, "rebuild": command,
    }
    for key, name in exported.get("files", {}).items():  # extra files, e.g. a token decoder
        entry[key] = {"path": f"{model_id}/{name}", "sha256": manifest.sha256_of(entry_dir / name)}
    write_card(entry_dir / "card.md", entry=entry, config=config, metrics=metrics,
               description=DESCRIPTIONS.get((family, args.modality), ""), provenance=data["provenance"],
               command=command)
    manifest.upsert(entry, out_root)
    print(f"registered {model_id} in {out_root}: " + ", ".join(
        f"{k}={metrics[k]:.4g}" if isinstance(metrics[k], float) else f"{k}={metrics[k]}"
        for k in ("fd", "precision", "recall", "classes_covered", "kl_to_uniform", "neg_elbo_bpd", "nll_bpd",
                  "nll_bits_per_token", "distinct_2", "novelty", "real_word_share", "ref_perplexity",
                  "nll_bits_per_char", "nll_nats_per_char", "neg_elbo_bits_per_char", "kl_nats", "active_units",
                  "frechet_distance", "pitch_class_kl", "consonance_on_beats", "distinct_fragments",
                  "neg_elbo_bits_per_token")
        if k in metrics))
    return {"entry": entry, "metrics": metrics, "summary": summary}


def trainer_minutes(run_dir: Path, fallback_seconds: float) -> float:
    """Wall time spent training in ``run_dir``, summed over resumed runs (from the log's run_end events)."""
    from studio.train import read_log

    total = sum(r.get("seconds", 0.0) for r in read_log(run_dir / LOG) if r.get("event") == "run_end")
    return total / 60.0 if total else fallback_seconds / 60.0


def main(family: str) -> None:
    try:
        run(family, sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit("interrupted: the last checkpoint is kept; run the same command again to resume")
