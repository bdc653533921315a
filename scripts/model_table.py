#!/usr/bin/env python
"""Print the README's model table from trained/manifest.json and each entry's metrics.json.

    python scripts/model_table.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio import manifest  # noqa: E402


def image_table(entries: list[dict]) -> None:
    print("| model | FD ↓ | precision | recall | density | coverage | classes (of 10) | class KL ↓ "
          "| likelihood | params | ONNX | train min | steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for entry in entries:
        m = json.loads(manifest.path_of(entry, "metrics").read_text())
        if "nll_bpd" in m:
            bpd = f"{m['nll_bpd']:.3f} (exact, dequantized)"
        elif "neg_elbo_bpd" in m:
            bpd = f"≤ {m['neg_elbo_bpd']:.3f} (ELBO bound)"
        elif "nll_bits_per_token" in m:
            bpd = f"{m['nll_bits_per_token']:.3f} bits/token (VQ codes)"
        else:
            bpd = "—"
        print(f"| {entry['id']} | {m['fd']:.2f} | {m['precision']:.3f} | {m['recall']:.3f} | {m['density']:.3f} "
              f"| {m['coverage']:.3f} | {m['classes_covered']} | {m['kl_to_uniform']:.4f} | {bpd} "
              f"| {m['params']:,} | {m['onnx_bytes'] / 1024:.0f} KiB | {m['train_minutes']:.1f} | {entry['steps']} |")


def text_table(entries: list[dict]) -> None:
    print("| model | FD ↓ | distinct-1 | distinct-2 | distinct-3 | novelty | real words | ref. perplexity ↓ "
          "| held-out bits/char | params | ONNX | train min | steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for entry in entries:
        m = json.loads(manifest.path_of(entry, "metrics").read_text())
        if "neg_elbo_bits_per_char" in m:
            bpc = f"≤ {m['neg_elbo_bits_per_char']:.3f} (ELBO bound)"
        elif "nll_bits_per_char" in m:
            kind = "dequantized: a bound" if "dequantized" in m.get("likelihood_kind", "") else "exact"
            bpc = f"{m['nll_bits_per_char']:.3f} ({kind})"
        else:
            bpc = "—"
        flag = " ⚠️ collapsed" if m.get("collapsed") else ""
        print(f"| {entry['id']} | {m['fd']:.2f} | {m['distinct_1']:.3f} | {m['distinct_2']:.3f}{flag} "
              f"| {m['distinct_3']:.3f} | {m['novelty']:.3f} | {m['real_word_share']:.3f} | {m['ref_perplexity']:.2f} "
              f"| {bpc} | {m['params']:,} | {m['onnx_bytes'] / 1024:.0f} KiB | {m['train_minutes']:.1f} "
              f"| {entry['steps']} |")


def music_table(entries: list[dict]) -> None:
    print("| model | FD ↓ | pitch KL ↓ | consonance | out of range ↓ | crossings ↓ | par. 5/8 ↓ | onsets/voice/bar "
          "| sonorities/bar | novelty | distinct | held-out bits/token | params | ONNX | train min | steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [(e["id"], json.loads(manifest.path_of(e, "metrics").read_text()), e) for e in entries]
    for model_id, m, entry in rows:
        if "neg_elbo_bits_per_token" in m:
            bpt = f"≤ {m['neg_elbo_bits_per_token']:.3f} (ELBO bound)"
        elif "nll_bits_per_token" in m:
            kind = "dequantized: a bound" if "dequantized" in m.get("likelihood_kind", "") else "exact"
            bpt = f"{m['nll_bits_per_token']:.3f} ({kind})"
        else:
            bpt = "—"
        flag = " ⚠️ collapsed" if m.get("collapsed") else ""
        print(f"| {model_id} | {m['frechet_distance']:.3f} | {m['pitch_class_kl']:.3f} | {m['consonance_on_beats']:.3f} "
              f"| {m['out_of_range']:.3f} | {m['voice_crossing']:.3f} | {m['parallel_5_8']:.4f} "
              f"| {m['note_density']:.2f} | {m['verticals_per_bar']:.2f} | {m['novelty']:.3f} "
              f"| {m['distinct_fragments']:.3f}{flag} | {bpt} | {m['params']:,} | {m['onnx_bytes'] / 1024:.0f} KiB "
              f"| {m['train_minutes']:.1f} | {entry['steps']} |")
    if rows:  # what the held-out chorales themselves score, recorded beside every model
        m = rows[0][1]
        print(f"| held-out Bach | {m['frechet_distance_real']:.3f} | {m['pitch_class_kl_real']:.3f} "
              f"| {m['consonance_on_beats_real']:.3f} | {m['out_of_range_real']:.3f} | {m['voice_crossing_real']:.3f} "
              f"| {m['parallel_5_8_real']:.4f} | {m['note_density_real']:.2f} | {m['verticals_per_bar_real']:.2f} "
              f"| {m['novelty_real']:.3f} | {m['distinct_fragments_real']:.3f} | | | | | |")


def main() -> None:
    entries = manifest.entries()
    image_table([e for e in entries if e["modality"] == "image"])
    ref = json.loads((manifest.TRAINED_DIR / "_reference" / "metrics.json").read_text())
    print(f"\nReference classifier test accuracy: {ref['test_accuracy']:.4f}.")
    text = [e for e in entries if e["modality"] == "text"]
    if text:
        print()
        text_table(text)
        ref_text = manifest.TRAINED_DIR / "_reference" / "text_metrics.json"
        if ref_text.exists():
            r = json.loads(ref_text.read_text())
            print(f"\nReference character model: {r['valid_bits_per_char']:.3f} bits/char, perplexity "
                  f"{r['valid_perplexity']:.2f} on held-out lines.")
    music = [e for e in entries if e["modality"] == "music"]
    if music:
        print()
        music_table(music)


if __name__ == "__main__":
    main()
