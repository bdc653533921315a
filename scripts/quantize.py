#!/usr/bin/env python
"""int8 variants of the one-shot generators, measured against their fp32 files and accepted only if they earn it.

    python scripts/quantize.py [--out docs/int8.md] [--register] [ids ...]

For each one-shot generator in trained/ it writes two int8 candidates with onnxruntime.quantization:
- **dynamic**: int8 weights, activations quantized on the fly (MatMul/Gemm and, for convolutions,
  ConvInteger);
- **static**: QDQ with per-channel int8 weights and uint8 activations calibrated on the model's own
  noise (seeded batches of z, never data).

Each candidate is scored by the modality's protocol (same sample count and seed as the record) on its
main metric (image: FD, text: real-word share, music: pitch-class KL) and timed against the fp32 file at
batch 1 and 64 in alternating rounds. A candidate is accepted when it loses at most 5% relative on the
main metric and is at least 1.3x faster at both batch sizes. A candidate that scores more than 5% *better*
is rejected too: it no longer draws what the model draws (quantization moved its argmax or its pixels),
so it is another model, not a cheaper copy. Everything measured, accepted or rejected, goes in the table.
Candidates are written to a temporary folder. Only with --register is trained/ changed: each model's best
accepted candidate becomes its "int8" variant (generator.int8.onnx, with the protocol's full metrics in
metrics.int8.json, and a "variants" record in the manifest), which the app serves as "<id>@int8". A
model with no accepted candidate loses a variant it had.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from studio import REPO_ROOT
from studio.atomic import atomic_write_text
from studio.registry import manifest

ROOT = REPO_ROOT

MAX_LOSS = 0.05  # relative, on the main metric
MIN_SPEEDUP = 1.3  # at batch 1 and at batch 64
CALIBRATION_BATCHES, CALIBRATION_BATCH = 8, 64


def main_metric(modality) -> tuple[str, str]:  # noqa: ANN001 - a studio.registry.record.Modality
    key = modality.human_eval().MAIN_METRICS[0]
    return key, modality.schema.metric(key).better


def relative_loss(fp32: float, int8: float, better: str) -> float:
    """How much worse int8 is, relative to fp32 (negative: better)."""
    return (int8 - fp32) / abs(fp32) if better == "lower" else (fp32 - int8) / abs(fp32)


def copy_metadata(source: Path, target: Path) -> None:
    """The quantizer drops the contract's metadata; the variant must carry the same."""
    import onnx

    src, dst = onnx.load(str(source)), onnx.load(str(target))
    del dst.metadata_props[:]
    for prop in src.metadata_props:
        dst.metadata_props.add(key=prop.key, value=prop.value)
    onnx.save(dst, str(target))


def quantize(path: Path, z_dim: int, folder: Path) -> dict[str, Path]:
    import numpy as np
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_dynamic,
        quantize_static,
    )

    from studio.onnx.options import LONG_GRAPH_NODES, node_count

    class NoiseBatches(CalibrationDataReader):
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.batches = iter([{"z": rng.standard_normal((CALIBRATION_BATCH, z_dim), dtype=np.float32)}
                                 for _ in range(CALIBRATION_BATCHES)])

        def get_next(self):  # noqa: ANN202 - a feed dict or None
            return next(self.batches, None)

    # The exporters' recorded intermediate shapes can disagree with the quantizer's own shape inference (a
    # batch axis recorded at the example's size); it infers them afresh.
    model = onnx.load(str(path))
    del model.graph.value_info[:]
    path = folder / "fp32.onnx"
    onnx.save(model, str(path))
    options = {"DefaultTensorType": onnx.TensorProto.FLOAT}  # for tensors its inference leaves untyped
    out = {"dynamic": folder / "dynamic.onnx"}
    if node_count(path) > LONG_GRAPH_NODES:
        # An unrolled decoder: pre-processing and calibration open sessions on the whole graph with every
        # intermediate exposed, which at 20,000 nodes takes longer than the budget of this script; its
        # arithmetic is the GRU's MatMuls, which dynamic quantization covers.
        quantize_dynamic(str(path), str(out["dynamic"]), weight_type=QuantType.QInt8, extra_options=options)
    else:
        prepared = folder / "prepared.onnx"
        quant_pre_process(str(path), str(prepared), skip_symbolic_shape=True)
        out["static"] = folder / "static.onnx"
        quantize_dynamic(str(prepared), str(out["dynamic"]), weight_type=QuantType.QInt8, extra_options=options)
        quantize_static(str(prepared), str(out["static"]), NoiseBatches(), quant_format=QuantFormat.QDQ,
                        per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        extra_options=options)
    for variant in out.values():
        copy_metadata(path, variant)
    return out


def register(entry: dict, variant: Path, metrics: dict, kind: str, speed: dict[int, float]) -> None:
    """``variant`` becomes ``entry``'s served int8 variant: its file and metrics beside the fp32 ones."""
    import shutil

    from studio.atomic import atomic_write, atomic_write_json

    folder = manifest.path_of(entry, "onnx").parent
    target = atomic_write(folder / "generator.int8.onnx", lambda tmp: shutil.copyfile(variant, tmp))
    atomic_write_json(folder / "metrics.int8.json", {**metrics, "quantization": kind})
    method = {"static": "static QDQ, calibrated on its own noise",
              "dynamic": "dynamic: int8 weights, activations quantized on the fly"}[kind]
    entry = {**entry, "variants": {"int8": {
        "onnx": f"{entry['id']}/generator.int8.onnx", "sha256": manifest.sha256_of(target),
        "metrics": f"{entry['id']}/metrics.int8.json", "precision": "int8", "method": method,
        "speedup": {f"batch_{b}": round(v, 2) for b, v in speed.items()},
        "rebuild": f"python scripts/quantize.py --register {entry['id']}"}}}
    manifest.upsert(entry)
    print(f"registered {entry['id']}@int8 ({method}) in trained/", flush=True)


def unregister(entry: dict) -> None:
    if "variants" in entry:
        manifest.upsert({k: v for k, v in entry.items() if k != "variants"})
        print(f"{entry['id']} has no accepted int8 candidate: its variant is unregistered", flush=True)


def samples_per_s(session, z_dim: int, batch: int, seconds: float = 1.0) -> float:  # noqa: ANN001
    import numpy as np

    z = np.random.default_rng(0).standard_normal((batch, z_dim), dtype=np.float32)
    for _ in range(2):
        session.run(None, {"z": z})
    calls, start = 0, time.perf_counter()
    while calls < 3 or time.perf_counter() - start < seconds:
        session.run(None, {"z": z})
        calls += 1
    return calls * batch / (time.perf_counter() - start)


def speedups(fp32: Path, int8: Path, z_dim: int, rounds: int = 3) -> dict[int, float]:
    from studio.onnx.options import cpu_session

    base, fast = cpu_session(fp32), cpu_session(int8)
    result = {}
    for batch in (1, 64):
        best_base = best_fast = 0.0
        for _ in range(rounds):  # alternating, best of each: a noisy neighbour slows both alike
            best_base = max(best_base, samples_per_s(base, z_dim, batch))
            best_fast = max(best_fast, samples_per_s(fast, z_dim, batch))
        result[batch] = best_fast / best_base
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    parser.add_argument("--register", action="store_true",
                        help="serve each model's best accepted candidate as its int8 variant (writes into trained/)")
    parser.add_argument("ids", nargs="*", help="only these generators (default: every one-shot one)")
    args = parser.parse_args()

    from studio.evaluation.protocol import evaluate, evaluate_file
    from studio.modalities import BY_NAME
    from studio.onnx.graph_flops import cpu_model
    from studio.onnx.runtime import load_generator

    entries = [e for e in manifest.entries() if e.get("kind", "one-shot") == "one-shot"
               and (not args.ids or e["id"] in args.ids)]
    rows = []
    with tempfile.TemporaryDirectory(prefix="studio-int8-") as tmp:
        for entry in entries:
            modality = BY_NAME[entry["modality"]]
            protocol, (key, better) = modality.protocol(), main_metric(modality)
            reference = protocol.open_reference("cpu")
            path = manifest.path_of(entry, "onnx")
            generator = load_generator(path, device="cpu")
            # at the recorded default sampling, like the record's own numbers (a flow's temperature)
            sampling = json.loads(manifest.path_of(entry, "metrics").read_text()).get("sampling")
            fp32 = evaluate(generator, protocol, reference, sampling=sampling)[key]
            folder = Path(tmp) / entry["id"]
            folder.mkdir()
            try:
                variants = quantize(path, generator.z_dim, folder)
            except Exception as exc:  # noqa: BLE001 - a graph the quantizer cannot handle is a result too
                rows.append(f"| {entry['id']} | both | — | — | — | — | rejected: the quantizer failed ({exc}) |")
                print(rows[-1], flush=True)
                if args.register:
                    unregister(entry)
                continue
            accepted = []  # (slowest speed-up, kind, file, metrics, speed-ups)
            for name, variant in variants.items():
                try:
                    int8_metrics = evaluate_file(variant, protocol, reference=reference, device="cpu",
                                                 sampling=sampling)
                    int8 = int8_metrics[key]
                except Exception as exc:  # noqa: BLE001 - a variant ORT cannot open is a result too
                    why = str(exc).splitlines()[0].split("failed:")[-1].strip()  # ORT's reason, not the path
                    rows.append(f"| {entry['id']} | {name} | — | — | — | — | rejected: ORT cannot run it ({why}) |")
                    print(rows[-1], flush=True)
                    continue
                loss = relative_loss(fp32, int8, better)
                speed = speedups(path, variant, generator.z_dim)
                reasons = [f"loses {loss:.1%} > {MAX_LOSS:.0%}"] if loss > MAX_LOSS else []
                if loss < -MAX_LOSS:  # "better" by this much is another model, not a cheaper copy of this one
                    reasons.append(f"changes the model: {-loss:+.1%} on its main metric")
                reasons += [f"{speed[b]:.2f}x at batch {b} < {MIN_SPEEDUP}x" for b in (1, 64) if speed[b] < MIN_SPEEDUP]
                verdict = "**accepted**" if not reasons else "rejected: " + "; ".join(reasons)
                if not reasons:
                    accepted.append((min(speed.values()), name, variant, int8_metrics, speed))
                size = os.path.getsize(variant) / os.path.getsize(path)
                rows.append(f"| {entry['id']} | {name} | {key} {fp32:.4g} -> {int8:.4g} ({-loss:+.1%}) | "
                            f"{speed[1]:.2f}x | {speed[64]:.2f}x | {size:.0%} | {verdict} |")
                print(rows[-1], flush=True)
            if args.register:
                if accepted:
                    _, name, variant, int8_metrics, speed = max(accepted, key=lambda a: a[0])
                    register(entry, variant, int8_metrics, name, speed)
                else:
                    unregister(entry)
    text = "\n".join([
        f"CPU: {cpu_model()}, {os.cpu_count()} cores. Main metric by the protocol (same samples, seed and sampling "
        "as the record); speed-up = int8 / fp32 samples/s in ORT, best of 3 alternating rounds; size = int8 file / "
        f"fp32 file. Accepted: the main metric within {MAX_LOSS:.0%} relative of fp32 (a larger loss, or a larger "
        f"gain, which means the variant draws other samples) and at least {MIN_SPEEDUP}x faster at batch 1 and 64.", "",
        "| model | int8 kind | main metric, fp32 -> int8 (change) | speed-up b1 | speed-up b64 | size | verdict |",
        "|---|---|---|---|---|---|---|", *rows])
    print(text)
    if args.out:
        atomic_write_text(args.out, f"# `python scripts/quantize.py`\n\n{text}\n")


if __name__ == "__main__":
    main()
