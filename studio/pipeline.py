"""Train -> export -> evaluate -> register: the shared body of every scripts/train_*.py."""

from __future__ import annotations

import argparse
import math
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
from studio.export import export_generator
from studio.train import LOG, PREVIEW, LoopConfig, Trainer, curves_from_log

REPO = manifest.REPO_ROOT

DESCRIPTIONS = {
    ("gan", "image"): "DCGAN-style generator (nearest upsampling + 3x3 convs, BatchNorm) trained against a "
                      "spectrally normalised discriminator with the hinge loss, TTUR learning rates, Adam "
                      "betas (0, 0.9); the exported weights are the EMA of the generator.",
    ("vae", "image"): "Convolutional VAE with a discretised-logistic pixel likelihood and a linear KL warm-up. "
                      "The exported generator is the decoder (z -> mean image).",
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


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


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

    process = recipes.build_process(config, data)
    loop = LoopConfig(**config["loop"])
    batches = recipes.random_batches(data["train_tensor"], config["batch_size"], loop.seed, device)
    trainer = Trainer(process, batches, loop, run_dir, device=device, resume=not args.fresh,
                      show_progress=not args.quiet)
    t0 = time.time()
    summary = trainer.fit()
    process.cpu().eval()

    entry_dir = out_root / model_id
    entry_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = entry_dir / "generator.onnx"
    generator = process.export_module()
    parity = export_generator(generator, onnx_path, family=family, modality=args.modality,
                              z_dim=process.z_dim, sample_shape=process.sample_shape())

    n_eval = args.eval_samples or config["eval_samples"]
    try:
        metrics: dict[str, Any] = recipes.EVALUATORS[args.modality](onnx_path, n_eval)
    except FileNotFoundError as exc:  # a missing reference evaluator names its rebuild command
        raise SystemExit(f"error: {exc}") from None
    metrics.update(process.likelihood_metrics(data["test_tensor"]))
    metrics.update({"params": count_params(generator), "onnx_bytes": onnx_path.stat().st_size,
                    "train_minutes": trainer_minutes(run_dir, time.time() - t0),
                    "rollbacks": summary["rollbacks"], "export_parity": parity})

    curves = curves_from_log(run_dir / LOG)
    atomic_write_json(entry_dir / "curves.json", curves)
    plot_curves(curves, entry_dir / "curves.png")
    shutil.copyfile(run_dir / PREVIEW, entry_dir / ".preview.tmp")
    (entry_dir / ".preview.tmp").replace(entry_dir / "preview.png")
    atomic_write_json(entry_dir / "config.json", config)
    atomic_write_json(entry_dir / "metrics.json", metrics)

    command = f"python scripts/train_{family}.py --modality {args.modality} --preset {args.preset}"
    entry = {
        "id": model_id, "family": family, "modality": args.modality, "kind": "one-shot",
        "onnx": f"{model_id}/generator.onnx", "sha256": manifest.sha256_of(onnx_path),
        "config": f"{model_id}/config.json", "metrics": f"{model_id}/metrics.json",
        "card": f"{model_id}/card.md", "curves": f"{model_id}/curves.json", "preview": f"{model_id}/preview.png",
        "steps": summary["steps"], "preset": args.preset, "dataset": data["dataset"],
        "git_commit": commit, "rebuild": command,
    }
    write_card(entry_dir / "card.md", entry=entry, config=config, metrics=metrics,
               description=DESCRIPTIONS.get((family, args.modality), ""), provenance=data["provenance"],
               command=command)
    manifest.upsert(entry, out_root)
    print(f"registered {model_id} in {out_root}: " + ", ".join(
        f"{k}={metrics[k]:.4g}" if isinstance(metrics[k], float) else f"{k}={metrics[k]}"
        for k in ("fd", "precision", "recall", "classes_covered", "kl_to_uniform", "neg_elbo_bpd") if k in metrics))
    return {"entry": entry, "metrics": metrics, "summary": summary}


def trainer_minutes(run_dir: Path, this_run_seconds: float) -> float:
    """Wall time spent training, summed over resumed runs (read from the JSONL log's timestamps)."""
    from studio.train import read_log

    total = sum(r.get("seconds", 0.0) for r in read_log(run_dir / LOG) if r.get("event") == "run_end")
    return round(total / 60.0 if total else this_run_seconds / 60.0, 2)


def main(family: str) -> None:
    try:
        run(family, sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit("interrupted: the last checkpoint is kept; run the same command again to resume")
