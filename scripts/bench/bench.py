#!/usr/bin/env python
"""Speed of every generator in trained/: ONNX Runtime vs PyTorch eager, in the same run.

    python scripts/bench/bench.py                      # CPU, every thread
    python scripts/bench/bench.py --device cuda        # GPU; fails loudly if CUDA is not really used
    python scripts/bench/bench.py --out docs/bench-cpu.md

For each generator: samples/s at batch 1 and 64 in ORT and in PyTorch eager (the PyTorch model is
rebuilt from the entry's config.json; speed does not depend on the trained weights), their ratio,
and the GFLOP/s ORT reaches at batch 64. FLOPs are counted from the exported graph's Conv, ConvTranspose,
Gemm and MatMul shapes at that batch (studio/onnx/graph_flops.py); the yardstick is the best large-GEMM rate
that torch or ORT reach in the same run, so "of matmul" is a share of a limit this machine really has.
Measurements alternate between the two runtimes and keep the best of several rounds, so a noisy
neighbour slows both sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from studio.registry import manifest


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                        help="where both runtimes run; cuda stops if CUDA is not really used (default: cpu)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="CPU threads for both runtimes (default: every core)")
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement, seconds (default: 1.5)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="alternating rounds; the best of each side is kept (default: 3)")
    parser.add_argument("--batches", default="1,64", help="batch sizes, comma-separated (default: 1,64)")
    parser.add_argument("--trained-dir", default=str(manifest.TRAINED_DIR),
                        help="the folder holding manifest.json (default: trained/)")
    parser.add_argument("--out", default=None, help="also write the table (markdown) and raw JSON here")
    parser.add_argument("ids", nargs="*", help="only these generators (default: every one in the manifest)")
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()  # --help and bad arguments answer before torch is imported

import numpy as np  # noqa: E402 - after --help, which must not import it
import torch  # noqa: E402 - after --help, which must not import it

from studio.atomic import atomic_write_text  # noqa: E402 - after --help, which must not import it
from studio.modalities import BY_NAME  # noqa: E402 - after --help, which must not import it
from studio.onnx.export import check_parity  # noqa: E402 - after --help, which must not import it
from studio.onnx.graph_flops import cpu_model, graph_flops, ort_matmul_gflops  # noqa: E402 - after --help, which must not import it
from studio.onnx.runtime import CUDA, make_session  # noqa: E402 - after --help, which must not import it
from studio.training.cards import recipe_key  # noqa: E402 - after --help, which must not import it


def build_process(config: dict):  # noqa: ANN201 - a studio.families.base.GenerativeProcess
    """The process a config.json describes, with random weights (speed does not depend on the trained ones)."""
    return BY_NAME[config["modality"]].recipes().RECIPES[recipe_key(config)].build(config, None)


def rate(fn: Callable[[], object], items: int, seconds: float, sync: Callable[[], None]) -> float:
    """Items per second over at least ``seconds`` of repeated calls (after a warm-up)."""
    for _ in range(3):
        fn()
    sync()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        if calls >= 3 and time.perf_counter() - start >= seconds:
            break
    sync()
    return calls * items / (time.perf_counter() - start)


def matmul_gflops(device: str, seconds: float, sync: Callable[[], None], n: int = 2048) -> float:
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    return rate(lambda: a @ b, 1, seconds, sync) * 2 * n**3 / 1e9


def bench_autoregressive(entries: list[dict], root: Path, args: argparse.Namespace, sync: Callable[[], None],
                         raw: dict) -> str:
    """Tokens/s for step-graph generators: ORT with the KV cache, ORT recomputing the prefix, PyTorch."""
    from studio.onnx.decoding import generate
    from studio.onnx.runtime import AutoregressiveGenerator

    lines = ["Autoregressive generators: tokens/s for whole sequences (BOS to the last token), and the time "
             "to draw 16 finished samples (tokens + decoder) with the KV cache.", "",
             "| model | batch | ORT + KV cache | ORT, prefix recomputed | PyTorch eager + KV cache | "
             "cache speed-up | 16 samples (s) |", "|---|---|---|---|---|---|---|"]
    for entry in entries:
        config = json.loads(manifest.path_of(entry, "config", root).read_text())
        process = build_process(config).to(args.device).eval()
        step_module = process.step_module()
        threads = None if args.device == "cuda" else args.threads
        try:
            gen = AutoregressiveGenerator(manifest.path_of(entry, "onnx", root), device=args.device, threads=threads)
        except RuntimeError as exc:
            sys.exit(f"error: {entry['id']}: {exc}. Nothing was measured.")
        info = gen.info
        shape = (info.layers, info.heads, info.head_dim)

        def torch_tokens(b: int) -> None:
            def step(tokens, past):  # noqa: ANN001, ANN202 - numpy in and out, model on the device
                with torch.inference_mode():
                    logits, present = step_module(torch.from_numpy(tokens).to(args.device),
                                                  torch.from_numpy(past).to(args.device))
                return logits.float().cpu().numpy(), present.cpu().numpy()
            generate(step, b, info.seq_len, info.bos, shape)

        result = {}
        for b in (1, 16):
            per = b * info.seq_len
            best = {"cache": 0.0, "recompute": 0.0, "torch": 0.0}
            for _ in range(args.rounds):
                best["cache"] = max(best["cache"], rate(lambda: gen.tokens(b), per, args.seconds, sync))
                best["recompute"] = max(best["recompute"],
                                        rate(lambda: gen.tokens(b, use_cache=False), per, args.seconds, sync))
                best["torch"] = max(best["torch"], rate(lambda: torch_tokens(b), per, args.seconds, sync))
            t0 = time.perf_counter()
            gen.sample(16, seed=0)
            sixteen = time.perf_counter() - t0
            result[f"b{b}"] = {**best, "sixteen_samples_s": sixteen}
            lines.append(f"| {entry['id']} | {b} | {best['cache']:,.0f} | {best['recompute']:,.0f} | "
                         f"{best['torch']:,.0f} | **{best['cache'] / best['recompute']:.1f}x** | {sixteen:.2f} |")
        raw["models"][entry["id"]] = {"provider": gen.provider, **result}
    return "\n".join(lines)


def bench_text_continuation(entries: list[dict], root: Path, args: argparse.Namespace, sync: Callable[[], None],
                            raw: dict, new_chars: int = 200) -> str:
    """Characters/s for continuing a prompt at batch 1: ORT with the KV cache, ORT recomputing the prefix,
    and transformers' generate() in PyTorch (its own KV cache)."""
    from studio.onnx.decoding import generate, ort_step
    from studio.onnx.runtime import AutoregressiveGenerator
    from studio.text.codec import map_prompt

    lines = [f"Character models: characters/s for {new_chars} new characters after a one-line prompt, batch 1, "
             "sampling at temperature 1. transformers' `generate()` stops at the model's context "
             "(its position table ends there), so it is timed on as many characters as fit.", "",
             "| model | ORT + KV cache | ORT, prefix recomputed | transformers generate() (chars) | "
             "cache vs recompute | cache vs generate() |", "|---|---|---|---|---|---|"]
    for entry in entries:
        config = json.loads(manifest.path_of(entry, "config", root).read_text())
        process = build_process(config).eval()  # random weights: the same work per token as trained ones
        gen = AutoregressiveGenerator(manifest.path_of(entry, "onnx", root), device=args.device,
                                      threads=None if args.device == "cuda" else args.threads)
        info, charset = gen.info, gen.info.charset
        prompt = map_prompt("ROMEO.\n", charset).ids[None, :]  # (1, P)
        shape = (info.layers, info.heads, info.head_dim)
        hf_new = min(new_chars, info.seq_len - prompt.shape[1])
        hf_input = torch.from_numpy(np.concatenate([[[info.bos]], prompt], axis=1)).to(args.device)
        gpt = process.gpt.to(args.device)

        def recompute() -> None:
            generate(ort_step(gen.session), 1, prompt.shape[1] + new_chars, info.bos, shape, use_cache=False,
                     prefix=prompt, max_context=gen.max_context)

        def hf_generate() -> None:
            with torch.inference_mode():
                gpt.generate(hf_input, max_new_tokens=hf_new, min_new_tokens=hf_new, do_sample=True, top_k=0,
                             use_cache=True, pad_token_id=info.bos)

        best = {"cache": 0.0, "recompute": 0.0, "generate": 0.0}
        for _ in range(args.rounds):
            best["cache"] = max(best["cache"], rate(lambda: gen.continue_ids(prompt, new_chars), new_chars,
                                                    args.seconds, sync))
            best["recompute"] = max(best["recompute"], rate(recompute, new_chars, args.seconds, sync))
            best["generate"] = max(best["generate"], rate(hf_generate, hf_new, args.seconds, sync))
        raw["models"][entry["id"]] = {"provider": gen.provider, "new_chars": new_chars,
                                      "generate_chars": hf_new, **best}
        lines.append(f"| {entry['id']} | {best['cache']:,.0f} | {best['recompute']:,.0f} | "
                     f"{best['generate']:,.0f} ({hf_new}) | **{best['cache'] / best['recompute']:.1f}x** | "
                     f"**{best['cache'] / best['generate']:.1f}x** |")
    return "\n".join(lines)


def bench_music_rendering(entries: list[dict], root: Path, args: argparse.Namespace, raw: dict,
                          bars: int = 8, tempo: float = 100.0) -> str:
    """Seconds to turn each music model's seed into something heard and seen, as the app does for 8 bars:
    drawing the piece (ORT), synthesising the audio, encoding WAV and MIDI, drawing the piano roll and the mel
    spectrogram. Best of ``args.rounds``."""
    from studio.music.codec import to_midi_bytes
    from studio.music.render import mel_spectrogram_image, piano_roll_image, render_audio, to_wav_bytes
    from studio.music.sampling import draw_piece
    from studio.music.tab import SAMPLE_RATE
    from studio.onnx.runtime import load_generator

    lines = [f"Music: seconds for a {bars}-bar piece at {tempo:g} bpm ({bars * 4 * 60 / tempo:.1f} s of music), "
             f"audio at {SAMPLE_RATE} Hz; best of {args.rounds} rounds. One-shot models join 4-bar fragments; the "
             "Transformer writes bar by bar from BOS.", "",
             "| model | draw (ORT) | audio | WAV | MIDI | piano roll | mel | total |",
             "|---|---|---|---|---|---|---|---|"]
    for entry in entries:
        gen = load_generator(manifest.path_of(entry, "onnx", root), device=args.device,
                             threads=None if args.device == "cuda" else args.threads)
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            times, t = {}, time.perf_counter()
            piece = draw_piece(gen, bars, seed=0)
            times["draw"], t = time.perf_counter() - t, time.perf_counter()
            audio = render_audio(piece, tempo, SAMPLE_RATE)
            times["audio"], t = time.perf_counter() - t, time.perf_counter()
            to_wav_bytes(audio, SAMPLE_RATE)
            times["wav"], t = time.perf_counter() - t, time.perf_counter()
            to_midi_bytes(piece, tempo)
            times["midi"], t = time.perf_counter() - t, time.perf_counter()
            piano_roll_image(piece)
            times["roll"], t = time.perf_counter() - t, time.perf_counter()
            mel_spectrogram_image(audio, SAMPLE_RATE)
            times["mel"] = time.perf_counter() - t
            best = {k: min(v, best.get(k, v)) for k, v in times.items()}
        best["total"] = sum(best.values())
        raw["models"].setdefault(entry["id"], {})["render_8_bars_s"] = best
        lines.append(f"| {entry['id']} | " + " | ".join(f"{best[k]:.3f}" for k in
                                                       ("draw", "audio", "wav", "midi", "roll", "mel", "total")) + " |")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:

    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("error: --device cuda, but PyTorch sees no CUDA GPU. Nothing was measured.")
        sync = torch.cuda.synchronize
        device_name = torch.cuda.get_device_name(0)
    else:
        torch.set_num_threads(args.threads)
        sync = lambda: None  # noqa: E731
        device_name = f"{cpu_model()}, {args.threads} threads"
    batches = [int(b) for b in args.batches.split(",")]
    root = Path(args.trained_dir)
    all_entries = [e for e in manifest.entries(root) if not args.ids or e["id"] in args.ids]
    entries = [e for e in all_entries if e.get("kind", "one-shot") == "one-shot"]
    autoregressive = [e for e in all_entries
                      if e.get("kind") == "autoregressive" and e["modality"] in ("image", "music")]
    characters = [e for e in all_entries if e.get("kind") == "autoregressive" and e["modality"] == "text"]
    music = [e for e in all_entries if e["modality"] == "music"]
    if not all_entries:
        sys.exit(f"error: no generators in {root}/manifest.json")

    peaks = {"torch": 0.0, "ort": 0.0}

    def measure_peaks(rounds: int) -> None:
        """The best large-GEMM rate so far, in torch and (on CPU) ORT: re-measured between models, because on
        a shared machine the clock and the neighbours change during a run; the yardstick is the best of all."""
        for _ in range(rounds):
            peaks["torch"] = max(peaks["torch"], matmul_gflops(args.device, args.seconds, sync))
            if args.device == "cpu":
                peaks["ort"] = max(peaks["ort"], ort_matmul_gflops(seconds=args.seconds, threads=args.threads))

    if entries:
        measure_peaks(args.rounds)
    measured, raw = [], {"device": args.device, "device_name": device_name, "models": {}}
    for entry in entries:
        config = json.loads(manifest.path_of(entry, "config", root).read_text())
        module = build_process(config).export_module().to(args.device).eval()
        try:
            session = make_session(manifest.path_of(entry, "onnx", root), device=args.device,
                                   threads=None if args.device == "cuda" else args.threads)
        except RuntimeError as exc:
            sys.exit(f"error: {entry['id']}: {exc}. Nothing was measured.")
        provider = session.get_providers()[0]
        if args.device == "cuda" and provider != CUDA:
            sys.exit(f"error: {entry['id']} runs on {provider}, not CUDA; the GPU numbers would be false.")
        z_dim = int(session.get_inputs()[0].shape[1])  # from the file: configs name it differently
        if args.device == "cuda":
            # The GPU must draw the same pictures as the CPU, not just run fast. cuDNN's conv algorithms
            # (TF32 included) round differently, so a few pixels may land one level apart.
            z_check = np.random.default_rng(1).standard_normal((16, z_dim), dtype=np.float32)
            cpu_session = make_session(manifest.path_of(entry, "onnx", root), device="cpu")
            check_parity(cpu_session.run(["sample"], {"z": z_check})[0], session.run(["sample"], {"z": z_check})[0],
                         max_share_off_by_one=0.05)
        flop_batch = batches[-1]
        flops_per_sample = graph_flops(manifest.path_of(entry, "onnx", root),
                                       {"z": np.zeros((flop_batch, z_dim), np.float32)}) / flop_batch
        result = {"provider": provider, "flops_per_sample": flops_per_sample}
        for b in batches:
            z_np = np.random.default_rng(0).standard_normal((b, z_dim), dtype=np.float32)
            z_t = torch.from_numpy(z_np).to(args.device)
            best_ort = best_pt = 0.0
            for _ in range(args.rounds):
                best_ort = max(best_ort, rate(lambda: session.run(["sample"], {"z": z_np}), b, args.seconds, sync))
                with torch.inference_mode():
                    best_pt = max(best_pt, rate(lambda: module(z_t).cpu(), b, args.seconds, sync))
            result[f"ort_b{b}"], result[f"torch_b{b}"] = best_ort, best_pt
        gflops = result[f"ort_b{batches[-1]}"] * flops_per_sample / 1e9
        result["ort_gflops"] = gflops
        raw["models"][entry["id"]] = result
        measured.append((entry["id"], provider, result))
        measure_peaks(1)
    peak = max(peaks.values())
    raw.update(matmul_gflops=peak, matmul_gflops_torch=peaks["torch"], matmul_gflops_ort=peaks["ort"])
    rows = []
    for model_id, provider, result in measured:
        flops_per_sample, gflops = result["flops_per_sample"], result["ort_gflops"]
        result["of_matmul"] = gflops / peak
        rows.append(
            f"| {model_id} | {provider.replace('ExecutionProvider', '')} | "
            + " | ".join(f"{result[f'ort_b{b}']:,.0f} | {result[f'torch_b{b}']:,.0f} | "
                         f"**{result[f'ort_b{b}'] / result[f'torch_b{b}']:.2f}x**" for b in batches)
            + f" | {flops_per_sample / 1e6:.1f} | {gflops:.1f} | {100 * gflops / peak:.0f}% |")

    head = " | ".join(f"ORT b{b} | torch b{b} | ratio b{b}" for b in batches)
    table = "\n".join([
        f"Device: {args.device} ({device_name}). fp32 matmul rate, 2048x2048, best of the whole run (measured "
        f"before the first model and after each): torch {peaks['torch']:.1f}"
        + (f", ORT {peaks['ort']:.1f}" if peaks["ort"] else "")
        + f" GFLOP/s; the yardstick is the better, **{peak:.1f}**.",
        "Samples/s, best of alternating rounds; ratio = ORT / PyTorch eager. "
        f"GFLOP/s is ORT's at batch {batches[-1]}, from the FLOPs of the exported graph's Conv, ConvTranspose, "
        "Gemm and MatMul nodes at that batch.", "",
        f"| model | ORT provider | {head} | MFLOP/sample | ORT GFLOP/s | of matmul |",
        "|" + "---|" * (5 + 3 * len(batches)),
        *rows,
    ])
    if autoregressive:
        table += "\n\n" + bench_autoregressive(autoregressive, root, args, sync, raw)
    if characters:
        table += "\n\n" + bench_text_continuation(characters, root, args, sync, raw)
    if music:
        table += "\n\n" + bench_music_rendering(music, root, args, raw)
    print(table)
    if args.out:
        atomic_write_text(args.out, f"# `python scripts/bench/bench.py --device {args.device}`\n\n{table}\n")
        atomic_write_text(Path(args.out).with_suffix(".json"), json.dumps(raw, indent=2) + "\n")


if __name__ == "__main__":
    main(ARGS)
