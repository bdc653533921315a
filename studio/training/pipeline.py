"""Train -> export -> evaluate -> register: the shared body of every scripts/train_*.py, as four steps.

Torch and the recipes are imported only once the arguments are read, so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from studio.atomic import atomic_write, atomic_write_json
from studio.registry import manifest
from studio.registry.record import DataMissing, Modality

if TYPE_CHECKING:
    from studio.families.base import GenerativeProcess
    from studio.training.distributed import World
    from studio.training.recipe import Recipe

REPO = manifest.REPO_ROOT
PRESET_HELP = "tiny: seconds (tests); cpu: a 2-core laptop, under 30 minutes; gpu: a real card"


def parse_args(family: str, modalities: Sequence[Modality], argv: list[str] | None) -> argparse.Namespace:
    from studio.training.recipe import PRESET_NAMES

    parser = argparse.ArgumentParser(
        prog=f"train_{family}.py",
        description=f"Train, export, evaluate and register a {family.upper()} generator. Resumes from the last "
                    "checkpoint when one exists.")
    parser.add_argument("--modality", required=True, choices=[m.name for m in modalities],
                        help="which data the generator learns (required)")
    parser.add_argument("--preset", default="cpu", choices=PRESET_NAMES, help=f"{PRESET_HELP} (default: cpu)")
    parser.add_argument("--variant", default="",
                        help="train a variant registered beside the family's model, e.g. `steer` (the image VAE "
                             "that draws a class or completes a picture; default: the family's own model)")
    parser.add_argument("--steps", type=int, default=None, help="override the preset's number of steps "
                                                                "(default: the preset's)")
    parser.add_argument("--data-dir", default=None, help="folder holding the data set (default: the installed one)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="auto: CUDA when PyTorch sees a GPU, else the CPU (default: auto)")
    parser.add_argument("--out-dir", default=None,
                        help="where the generator is registered (default: trained/, or runs/tiny/trained for tiny)")
    parser.add_argument("--run-dir", default=None, help="checkpoints and logs (default: runs/<preset>/<id>)")
    parser.add_argument("--fresh", action="store_true",
                        help="ignore an existing checkpoint and start over (default: resume from it)")
    parser.add_argument("--eval-samples", type=int, default=None,
                        help="override the evaluation sample count (default: the preset's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar (default: show one)")
    return parser.parse_args(argv)


def pick_device(requested: str) -> str:
    import torch

    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise SystemExit("error: --device cuda was requested but PyTorch sees no CUDA GPU; use --device cpu")
    return requested


# -- the four steps ----------------------------------------------------------------------------------
def train(recipe: Recipe, config: dict[str, Any], data: dict[str, Any], run_dir: Path, device: str,
          resume: bool, show_progress: bool, world: World | None = None) -> \
        tuple[GenerativeProcess, dict[str, Any], list[Path]]:
    """Every stage of the recipe through the one loop: (the last stage's process, summary, stage folders).
    Under torchrun, ``world`` says which rank this is; every rank trains on its share of each batch."""
    from studio.training.distributed import SINGLE
    from studio.training.loop import LoopConfig, Trainer
    from studio.training.recipe import stages

    world = world or SINGLE

    summary: dict[str, Any] = {"rollbacks": 0}
    stage_dirs = []
    for stage, process, batches, loop_cfg in stages(recipe, config, data, device):
        stage_dir = run_dir / stage if stage else run_dir
        stage_dirs.append(stage_dir)
        trainer = Trainer(process, batches, LoopConfig(**loop_cfg), stage_dir, device=device, resume=resume,
                          show_progress=show_progress, world=world)
        result = trainer.fit()
        summary = {**result, "rollbacks": summary["rollbacks"] + result["rollbacks"]}
    process.cpu().eval()
    return process, summary, stage_dirs


def evaluate(modality: Modality, onnx_path: Path, n_samples: int) -> dict[str, Any]:
    """The modality's protocol on the exported file, with the protocol's seed."""
    from studio.evaluation.protocol import evaluate_file

    try:
        return evaluate_file(onnx_path, modality.protocol(), n_samples=n_samples, device="cpu")
    except FileNotFoundError as exc:  # a missing reference evaluator or data set names its fix
        raise SystemExit(f"error: {exc}") from None


def register(entry_dir: Path, out_root: Path, *, modality: Modality, recipe: Recipe, config: dict[str, Any],
             data: dict[str, Any],
             exported: dict[str, Any], metrics: dict[str, Any], steps: int, commit: str, stage_dirs: list[Path]) -> \
        dict[str, Any]:
    """Curves, preview, config, metrics and card beside the generator, then its manifest entry."""
    from studio.training.cards import plot_curves, write_card
    from studio.training.loop import LOG, PREVIEW, curves_from_log

    model_id = config["id"]
    curves = curves_from_log(stage_dirs[-1] / LOG)
    atomic_write_json(entry_dir / "curves.json", curves)
    plot_curves(curves, entry_dir / "curves.png")
    atomic_write(entry_dir / "preview.png", lambda tmp: shutil.copyfile(stage_dirs[-1] / PREVIEW, tmp))
    atomic_write_json(entry_dir / "config.json", config)
    atomic_write_json(entry_dir / "metrics.json", metrics)
    command = f"python scripts/train_{recipe.family}.py --modality {config['modality']} --preset {config['preset']}"
    if recipe.variant:
        command += f" --variant {recipe.variant}"
    entry = {
        "id": model_id, "family": recipe.family, "modality": config["modality"], "kind": exported["kind"],
        "onnx": f"{model_id}/generator.onnx", "sha256": manifest.sha256_of(exported["onnx"]),
        "config": f"{model_id}/config.json", "metrics": f"{model_id}/metrics.json",
        "card": f"{model_id}/card.md", "curves": f"{model_id}/curves.json", "preview": f"{model_id}/preview.png",
        "steps": steps, "preset": config["preset"], "dataset": data["dataset"], "git_commit": commit,
        "rebuild": command,
    }
    for key, name in exported.get("files", {}).items():  # extra files, e.g. a token decoder
        entry[key] = {"path": f"{model_id}/{name}", "sha256": manifest.sha256_of(entry_dir / name)}
    from studio.registry.stored_samples import record_head

    entry["samples_head"] = record_head(entry, out_root, modality.protocol())
    write_card(entry_dir / "card.md", entry=entry, config=config, metrics=metrics, schema=modality.schema,
               description=recipe.description, provenance=data["provenance"])
    manifest.upsert(entry, out_root)
    return entry


def run(family: str, modalities: Sequence[Modality], argv: list[str] | None = None) -> dict[str, Any]:
    """The whole pipeline for ``argv`` (the script's arguments): the manifest entry, metrics, training summary,
    the trained process and what its export wrote."""
    args = parse_args(family, modalities, argv)
    from studio.training.recipe import resolve

    modality = next(m for m in modalities if m.name == args.modality)
    recipes = modality.recipes()
    key = f"{family}-{args.variant}" if args.variant else family
    recipe = recipes.RECIPES.get(key)
    if recipe is None:
        variants = [k.split("-", 1)[1] for k in recipes.RECIPES if k.startswith(f"{family}-")]
        raise SystemExit(f"error: there is no {key} recipe for --modality {modality.name}"
                         + (f"; its variants: {', '.join(variants)}" if variants else ""))
    config = resolve(recipe, modality.name, args.preset, args.steps)
    commit = manifest.git_commit()  # the code that trains, read before a long run lets HEAD move
    out_root = Path(args.out_dir) if args.out_dir else (
        REPO / "runs" / "tiny" / "trained" if args.preset == "tiny" else manifest.TRAINED_DIR)
    run_dir = Path(args.run_dir) if args.run_dir else REPO / "runs" / args.preset / config["id"]
    from studio.training import distributed

    world = distributed.world_from_env()  # torchrun sets it; a plain run is rank 0 of 1
    device = distributed.start(world, pick_device(args.device))
    try:
        data = recipes.load_data(args.data_dir)
    except DataMissing as exc:
        raise SystemExit(f"error: {exc}") from None

    t0 = time.time()
    try:
        process, summary, stage_dirs = train(recipe, config, data, run_dir, device, resume=not args.fresh,
                                             show_progress=not args.quiet, world=world)
    finally:
        distributed.stop(world)
    if not world.is_main:  # rank 0 exports, evaluates and registers
        return {"entry": None, "metrics": {}, "summary": summary, "process": process, "exported": None}
    entry_dir = out_root / config["id"]
    entry_dir.mkdir(parents=True, exist_ok=True)
    exported = process.export(entry_dir)
    # The preview shows what was exported: a VAE's mixture prior is fitted at export, which changes its samples.
    from studio.training.loop import PREVIEW

    process.write_preview(stage_dirs[-1] / PREVIEW, summary["steps"])

    metrics = evaluate(modality, exported["onnx"], args.eval_samples or config["eval_samples"])
    metrics.update(process.likelihood_metrics(data))
    files = [exported["onnx"], *(entry_dir / f for f in exported.get("files", {}).values())]
    metrics.update({"params": process.generator_params(), "onnx_bytes": sum(f.stat().st_size for f in files),
                    "train_minutes": round(sum(trainer_minutes(d) for d in stage_dirs) or (time.time() - t0) / 60, 2),
                    "rollbacks": summary["rollbacks"], "export_parity": exported["parity"]})

    entry = register(entry_dir, out_root, modality=modality, recipe=recipe, config=config, data=data, exported=exported,
                     metrics=metrics, steps=summary["steps"], commit=commit, stage_dirs=stage_dirs)
    schema = modality.schema
    shown = [k for k in (*schema.table, "likelihood") if k in metrics]
    print(f"registered {config['id']} in {out_root}: " + ", ".join(
        f"{schema.metric(k).label}={schema.format(k, metrics[k])}" for k in shown))
    return {"entry": entry, "metrics": metrics, "summary": summary, "process": process, "exported": exported}


def trainer_minutes(run_dir: Path) -> float:
    """Wall time spent training in ``run_dir``, summed over resumed runs (from the log's run_end events)."""
    from studio.training.loop import LOG, read_log

    return sum(r.get("seconds", 0.0) for r in read_log(run_dir / LOG) if r.get("event") == "run_end") / 60.0


def main(family: str, modalities: Sequence[Modality]) -> None:
    try:
        run(family, modalities, sys.argv[1:])
    except KeyboardInterrupt:
        sys.exit("interrupted: the last checkpoint is kept; run the same command again to resume")
