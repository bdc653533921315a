#!/usr/bin/env python
"""Print the model tables, one per modality, from trained/manifest.json and each entry's metrics.json; or write
README's one table of every model.

    python scripts/model_table.py              # the full tables, one per modality (docs/models.md shows them)
    python scripts/model_table.py --readme     # rewrite README's table of every model, between its markers

Columns are each modality's schema's table columns, then the likelihood, size and training time. Where
the metrics record what the held-out data itself scores (``<key>_real``), a last row shows it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from studio.evaluation.schema import REAL_SUFFIX, likelihood_text, sampling_label
from studio.modalities import ALL
from studio.registry import manifest


def table(modality, entries: list[dict], root: Path) -> list[str]:  # noqa: ANN001 - a studio.registry.record.Modality
    schema = modality.schema
    headers = ["model", *(schema.metric(k).header for k in schema.table), "likelihood", "params", "ONNX",
               "train min", "steps"]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    records = [(e, json.loads(manifest.path_of(e, "metrics", root).read_text())) for e in entries]
    for entry, m in records:
        cells = [entry["id"] + sampling_note(m), *(schema.format(k, m.get(k)) for k in schema.table),
                 likelihood_text(m),
                 f"{m['params']:,}", f"{m['onnx_bytes'] / 1024:.0f} KiB", f"{m['train_minutes']:.1f}",
                 str(entry["steps"])]
        lines.append("| " + " | ".join(cells) + " |")
    if records and any(k + REAL_SUFFIX in records[0][1] for k in schema.table):
        m = records[0][1]
        cells = [schema.real_label, *(schema.format(k, m.get(k + REAL_SUFFIX)) if k + REAL_SUFFIX in m else ""
                                    for k in schema.table), "", "", "", "", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


#: README's one table shows three headline numbers per modality (the full tables show every column).
HEADLINE = {"image": ("fd", "precision", "kl_to_uniform"),
            "text": ("real_word_share", "ref_perplexity", "degenerate_share"),
            "music": ("pitch_class_kl", "consonance_on_beats", "voice_crossing")}
README_START, README_END = "<!-- model table: python scripts/model_table.py --readme -->", "<!-- end of model table -->"


def summary_table(root: Path) -> list[str]:
    """Every registered model in one table: its headline numbers, likelihood, size and training time."""
    lines = ["| model | family | headline numbers | likelihood | ONNX | train min |", "|---|---|---|---|---|---|"]
    by_name = {m.name: m for m in ALL}
    for entry in manifest.entries(root):
        modality = by_name.get(entry["modality"])
        if modality is None:
            continue
        m = json.loads(manifest.path_of(entry, "metrics", root).read_text())
        schema = modality.schema
        numbers = " · ".join(f"{schema.metric(k).label} {schema.format(k, m[k])}"
                             for k in HEADLINE.get(modality.name, schema.table[:3]) if k in m)
        lines.append(f"| {entry['id']}{sampling_note(m)} | {entry['family']} | {numbers} | {likelihood_text(m)} | "
                     f"{m['onnx_bytes'] / 1024:.0f} KiB | {m['train_minutes']:.1f} |")
    return lines


def readme_block(root: Path) -> str:
    return "\n".join([README_START, *summary_table(root), README_END])


def write_readme(readme: Path, root: Path) -> bool:
    """Replace README's table between its markers; True when it changed."""
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"error: {readme} has no model table markers ({README_START} ... {README_END})")
    before, rest = text.split(README_START, 1)
    _, after = rest.split(README_END, 1)
    new = before + readme_block(root) + after
    if new != text:
        from studio.atomic import atomic_write_text

        atomic_write_text(readme, new)
    return new != text


def sampling_note(metrics: dict) -> str:
    """What follows a model's id when it samples at a chosen default (scripts/choose_sampling.py):
    " (temperature 1.1, top-k 32)"; nothing otherwise."""
    return f" ({sampling_label(metrics['sampling'])})" if metrics.get("sampling") else ""


def temperature_table(modality, entries: list[dict], root: Path) -> list[str]:  # noqa: ANN001
    """Each model with a chosen default sampling: its numbers there and at temperature 1."""
    schema, lines = modality.schema, []
    for entry in entries:
        m = json.loads(manifest.path_of(entry, "metrics", root).read_text())
        if "at_temperature_1" not in m:
            continue
        if not lines:
            keys = list(m["at_temperature_1"])
            lines = ["| model | default sampling | " + " | ".join(schema.metric(k).header for k in keys) + " |",
                     "|" + "---|" * (len(keys) + 2)]
        cells = [entry["id"], sampling_label(m["sampling"])]
        cells += [f"{schema.format(k, m[k])} / {schema.format(k, v)}" for k, v in m["at_temperature_1"].items()]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def steering_record(metrics: dict) -> dict:
    """A model's steering numbers, with the temperature they were drawn at and, per region, a likelihood
    model's hidden-pixel NLL (recorded beside them as ``completion_likelihood``)."""
    completion = {region: {**numbers, **({"hidden_bits": metrics["completion_likelihood"][region]}
                                         if region in metrics.get("completion_likelihood", {}) else {})}
                  for region, numbers in metrics["steering"].get("completion", {}).items()}
    return {**metrics["steering"], "completion": completion,
            "temperature": metrics.get("sampling", {}).get("temperature", 1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR),
                        help="the folder holding manifest.json (default: %(default)s)")
    parser.add_argument("--readme", action="store_true", help="rewrite README.md's table of every model")
    args = parser.parse_args()
    root = Path(args.trained_dir)
    if args.readme:
        changed = write_readme(manifest.REPO_ROOT / "README.md", root)
        print("README.md's model table " + ("rewritten" if changed else "is up to date"))
        return
    entries = manifest.entries(root)
    for modality in ALL:
        chosen = [e for e in entries if e["modality"] == modality.name]
        if chosen:
            print(f"\n### {modality.title}\n")
            print("\n".join(table(modality, chosen, root)))
            at_one = temperature_table(modality, chosen, root)
            if at_one:
                print("\nEach cell: at the default sampling (chosen on validation data) / at temperature 1.\n")
                print("\n".join(at_one))
            steered = {e["id"]: steering_record(m) for e in chosen
                       if (m := json.loads(manifest.path_of(e, "metrics", root).read_text())).get("steering")}
            if steered and modality.name == "image":
                from studio.image.steering import steering_rows

                print("\nSteering (`python scripts/evaluate.py <id>`; docs/metrics.md explains each row):\n")
                print("\n".join(steering_rows(steered)))
    for name, key, what in (("metrics.json", "test_accuracy", "Reference classifier test accuracy"),
                            ("text_metrics.json", "valid_bits_per_char", "Reference character model, bits/char "
                                                                          "on held-out lines")):
        path = root / "_reference" / name
        if path.exists():
            print(f"\n{what}: {json.loads(path.read_text())[key]:.4f}.")


if __name__ == "__main__":
    main()
