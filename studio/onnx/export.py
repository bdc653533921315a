"""torch -> ONNX for generators, with the contract's metadata and a parity check against ORT.

The file only lands at its destination once ONNX Runtime reproduces PyTorch's output on it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from studio.atomic import atomic_write
from studio.onnx.contract import CONDITIONS, SAMPLE_OUTPUT, Z_INPUT, generator_metadata, validate_session
from studio.onnx.conv2d_pass import conv1d_as_conv2d
from studio.onnx.options import cpu_session


class ExportParityError(RuntimeError):
    """ONNX Runtime's output differs from PyTorch's on the exported graph."""


def _quiet_export(*args: Any, **kwargs: Any) -> None:
    # The exporter prints progress and warns about optional torchvision ops; neither helps a user.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)  # the tracing exporter announces its successor
        # Several inputs share the batch axis: the dynamo exporter says it keeps one name for them.
        warnings.filterwarnings("ignore", message="# The axis name")
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # python ints in an unrolled loop: intended
        # The tracing exporter says this of every GRU; studio.layers.gru gives it an initial state built from
        # the input's batch axis, and the parity checks run a batch size the example did not have.
        warnings.filterwarnings("ignore", message="Exporting a model to ONNX with a batch_size other than 1")
        torch.onnx.export(*args, **kwargs)


#: opset of graphs exported by tracing (the dynamo exporter picks its own)
TRACED_OPSET = 18


def exports_by_tracing(module: nn.Module) -> bool:
    """Whether ``module`` holds a part that sets ``unrolled = True``: a decoder unrolled over many steps, or
    a GRU encoder (the dynamo exporter decomposes nn.GRU into one step per token).

    The dynamo exporter's graph passes grow faster than linearly with such a graph: a 48-step GRU
    decoder took 33 s and a 256-step one 448 s, where tracing takes 2.5 s and 12 s (a tiny text VAE's
    decoder and encoder: 92 s against 4.4 s). The parity checks below compare either file with PyTorch.
    """
    return any(getattr(part, "unrolled", False) for part in module.modules())


def export_onnx(module: nn.Module, example: tuple[torch.Tensor, ...], path: str | Path, *,
                input_names: list[str], output_names: list[str], dynamic_shapes: Any,
                metadata: dict[str, str]) -> None:
    """Export ``module`` to a single self-contained ONNX file (no external data) with metadata.

    ``dynamic_shapes`` marks the batch axis: ``{input_name: {0: Dim}}`` or a tuple of ``{0: Dim}``.
    """
    module = module.eval()
    if exports_by_tracing(module):
        # the batch axis of every input and output stays free; everything else is fixed by the example
        batch_axes = {name: {0: "batch"} for name in [*input_names, *output_names]}
        _quiet_export(module, example, str(path), input_names=input_names, output_names=output_names,
                      dynamic_axes=batch_axes, dynamo=False, opset_version=TRACED_OPSET)
    else:
        _quiet_export(module, example, str(path), input_names=input_names, output_names=output_names,
                      dynamic_shapes=dynamic_shapes, dynamo=True, external_data=False, optimize=True)
    model = onnx.load(str(path))
    conv1d_as_conv2d(model)  # ORT's CPU kernels run 2-D convolutions several times faster (see the module)
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


#: whole samples allowed to diverge after a near-tie draw: one in eight (2 of the default 16), at least one
SAMPLES_DIVERGING_PER = 8


def compare_outputs(expected: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """Parity numbers; uint8 outputs may differ by one level where rounding lands on a .5 edge."""
    diff = np.abs(expected.astype(np.float64) - actual.astype(np.float64))
    return {"max_abs_diff": float(diff.max()) if diff.size else 0.0,
            "share_differing": float((diff > 0).mean()) if diff.size else 0.0}


def check_parity(expected: np.ndarray, actual: np.ndarray, max_share_off_by_one: float = 0.01) -> dict[str, float]:
    if expected.shape != actual.shape or expected.dtype != actual.dtype:
        raise ExportParityError(f"ORT returned {actual.dtype}{actual.shape}, PyTorch {expected.dtype}{expected.shape}")
    report = compare_outputs(expected, actual)
    if expected.dtype == np.uint8:
        ok = report["max_abs_diff"] <= 1 and report["share_differing"] <= max_share_off_by_one
    elif expected.dtype.kind in "iu":  # ids: a near-tie may flip, a wrong graph flips many
        # A token drawn one after another (a sampling decoder) is a near-tie when its uniform number lands
        # within float rounding of a cumulative-probability edge; everything after it in that sample then
        # differs. So a few whole samples may differ, as long as the rest agree exactly.
        per_sample = (expected != actual).reshape(len(expected), -1).any(axis=1)  # (N,)
        report["samples_differing"] = int(per_sample.sum())
        allowed = max(1, len(per_sample) // SAMPLES_DIVERGING_PER)
        ok = report["share_differing"] <= max_share_off_by_one or report["samples_differing"] <= allowed
    else:
        ok = report["max_abs_diff"] <= 1e-3 * max(1.0, float(np.abs(expected).max()))
    if not ok:
        raise ExportParityError(f"ONNX Runtime disagrees with PyTorch: {report}")
    return report


def stable_draws(module: nn.Module, z: np.ndarray, conditions: tuple[np.ndarray, ...] = ()) -> np.ndarray:
    """Which parity draws [N] (bool) both runtimes must agree on.

    A module with ``unstable_draws`` (a flow whose sampler reached its overflow guard) names draws whose
    sample float rounding can change anywhere; those are left out, and the report counts them. Most of
    the batch must stay: a graph that is wrong everywhere is not excused as unstable. ``conditions``: the
    condition inputs fed with ``z``, in the graph's order.
    """
    if not hasattr(module, "unstable_draws"):
        return np.ones(len(z), dtype=bool)
    stable = ~module.unstable_draws(torch.from_numpy(z), *(torch.from_numpy(c) for c in conditions)).numpy()
    if stable.sum() < (len(z) + 1) // 2:
        raise ExportParityError(f"{int((~stable).sum())} of {len(z)} parity draws are numerically unstable: "
                                "the sampler overflows for most noise. Train with a smaller learning rate or "
                                "a larger logit_alpha.")
    return stable


def export_generator(module: nn.Module, path: str | Path, *, family: str, modality: str, z_dim: int,
                     sample_shape: tuple[int, ...], parity_batch: int = 16, seed: int = 0,
                     charset: str | None = None, conditions: tuple[str, ...] = (), classes: tuple[str, ...] = (),
                     condition_example: dict[str, np.ndarray] | None = None) -> dict[str, Any]:
    """Export a one-shot z -> sample generator, check it in ORT, then move it to ``path``.

    A conditional generator (``conditions``: names from the contract's CONDITIONS) takes its condition inputs
    after z, in the contract's order; ``condition_example`` holds them for the parity batch ([parity_batch, ...]
    each). Returns the parity report. Raises ExportParityError (leaving ``path`` untouched) on mismatch.
    """
    module = module.eval().cpu()
    batch = torch.export.Dim("batch", min=1, max=65536)
    report: dict[str, Any] = {}
    names = [name for c in conditions for name in CONDITIONS[c]]
    given = condition_example or {}
    if sorted(given) != sorted(names):
        raise ValueError(f"conditions {list(conditions)} need example inputs {names}; got {sorted(given)}")

    def write_checked(tmp: str) -> None:
        metadata = generator_metadata(family=family, modality=modality, z_dim=z_dim, sample_shape=sample_shape,
                                      charset=charset, conditions=conditions, classes=classes)
        example = (torch.randn(2, z_dim), *(torch.from_numpy(given[name][:2]) for name in names))
        export_onnx(module, example, tmp, input_names=[Z_INPUT, *names], output_names=[SAMPLE_OUTPUT],
                    dynamic_shapes=tuple({0: batch} for _ in example), metadata=metadata)
        session = cpu_session(tmp)
        validate_session(session)
        z = np.random.default_rng(seed).standard_normal((parity_batch, z_dim), dtype=np.float32)
        feeds = {Z_INPUT: z, **{name: given[name][:parity_batch] for name in names}}
        with torch.no_grad():
            expected = module(*(torch.from_numpy(feeds[name]) for name in [Z_INPUT, *names])).numpy()
        actual = session.run([SAMPLE_OUTPUT], feeds)[0]
        stable = stable_draws(module, z, tuple(feeds[name] for name in names))
        report.update(check_parity(expected[stable], actual[stable]), unstable_draws=int((~stable).sum()))
        # Batch 1 too: a graph that only works for the example batch size is a broken export.
        first = int(np.flatnonzero(stable)[0])
        check_parity(expected[first:first + 1],
                     session.run([SAMPLE_OUTPUT], {k: v[first:first + 1] for k, v in feeds.items()})[0])

    atomic_write(path, write_checked)
    return {**report, "parity_batch": parity_batch}


def export_encoder(module: nn.Module, example: torch.Tensor, path: str | Path, *, family: str, modality: str,
                   z_dim: int, sample_shape: tuple[int, ...], charset: str | None = None) -> dict[str, Any]:
    """Export a sample -> latent encoder (input ``sample``, output ``z``; kind "encoder"), checked in ORT."""
    batch = torch.export.Dim("batch", min=1, max=65536)
    metadata = {**generator_metadata(family=family, modality=modality, z_dim=z_dim, sample_shape=sample_shape,
                                     charset=charset), "studio.kind": "encoder"}
    report: dict[str, Any] = {}

    def write_checked(tmp: str) -> None:
        export_onnx(module, (example,), tmp, input_names=[SAMPLE_OUTPUT], output_names=[Z_INPUT],
                    dynamic_shapes=({0: batch},), metadata=metadata)
        session = cpu_session(tmp)
        with torch.no_grad():
            expected = module(example).numpy()
        report.update(check_parity(expected, session.run([Z_INPUT], {SAMPLE_OUTPUT: example.numpy()})[0]))
        # Batch 1 too: a graph that only works for the example batch size is a broken export.
        check_parity(expected[:1], session.run([Z_INPUT], {SAMPLE_OUTPUT: example[:1].numpy()})[0])

    atomic_write(path, write_checked)
    return report


def export_step_graph(lean_step: nn.Module, step: nn.Module, decoder_head: nn.Module | None, entry_dir: Path, *,
                      family: str, modality: str, vocab: int, bos: int, seq_len: int, layers: int, heads: int,
                      head_dim: int, sample_shape: tuple[int, ...], charset: str | None = None) -> dict[str, Any]:
    """An autoregressive generator: generator.onnx, the KV-cache step graph of ``lean_step`` (tokens, past ->
    logits, present), and, with a ``decoder_head``, decoder.onnx (token codes -> sample).

    Parity: ORT's cached greedy decoding must pick the very tokens ``step`` (the same network in PyTorch) picks,
    and the decoder must match PyTorch on them. Both files are checked before either is moved into place; a
    failed check leaves ``entry_dir`` as it was.
    """
    import onnxruntime as ort

    from studio.onnx.contract import (
        CODES_INPUT,
        LOGITS_OUTPUT,
        PAST_INPUT,
        PRESENT_OUTPUT,
        TOKENS_INPUT,
        step_metadata,
        validate_step_session,
    )
    from studio.onnx.decoding import generate, ort_step, torch_step

    batch = torch.export.Dim("batch", min=1, max=4096)
    decoder_path, step_path = entry_dir / "decoder.onnx", entry_dir / "generator.onnx"
    shape = (layers, heads, head_dim)
    parity: dict[str, Any] = {}
    greedy: list[np.ndarray] = []  # the step graph's greedy tokens, which the decoder's check decodes

    def write_decoder(tmp: str) -> None:  # runs inside write_step, once its greedy tokens are known
        example_codes = torch.randint(0, vocab - 1, (2, seq_len))
        export_onnx(decoder_head.eval(), (example_codes,), tmp, input_names=[CODES_INPUT],
                    output_names=[SAMPLE_OUTPUT], dynamic_shapes={"codes": {0: batch}},
                    metadata={**generator_metadata(family=family, modality=modality, z_dim=0,
                                                   sample_shape=sample_shape), "studio.kind": "decoder"})
        decoder = cpu_session(tmp)
        tokens = greedy[0]
        with torch.no_grad():
            expected = decoder_head(torch.from_numpy(tokens)).numpy()
        parity.update(check_parity(expected, decoder.run([SAMPLE_OUTPUT], {CODES_INPUT: tokens})[0]))

    def write_step(tmp: str) -> None:
        seq, past_len = torch.export.Dim("seq", min=1, max=seq_len + 1), torch.export.Dim("past", min=0,
                                                                                        max=seq_len + 1)
        example = (torch.randint(0, vocab, (2, 3)), torch.zeros(layers, 2, 2, heads, 5, head_dim))
        export_onnx(lean_step, example, tmp, input_names=[TOKENS_INPUT, PAST_INPUT],
                    output_names=[LOGITS_OUTPUT, PRESENT_OUTPUT],
                    # the cache's batch axis is the tokens' (one name, given once: naming it twice makes torch warn)
                    dynamic_shapes={"tokens": {0: batch, 1: seq}, "past": {2: torch.export.Dim.DYNAMIC, 4: past_len}},
                    metadata=step_metadata(family=family, modality=modality, vocab=vocab, bos=bos, seq_len=seq_len,
                                           layers=layers, heads=heads, head_dim=head_dim,
                                           decoder=decoder_path.name if decoder_head is not None else "",
                                           sample_shape=sample_shape, charset=charset))
        session = ort.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        validate_step_session(session)
        ort_tokens = generate(ort_step(session), 4, seq_len, bos, shape, temperature=0.0)
        torch_tokens = generate(torch_step(step), 4, seq_len, bos, shape, temperature=0.0)
        if not np.array_equal(ort_tokens, torch_tokens):
            raise RuntimeError("ORT's KV-cache decoding picks other tokens than PyTorch; the export is wrong")
        parity["greedy_tokens_match"] = True
        if decoder_head is not None:  # moved into place just before the step graph that names it
            greedy.append(ort_tokens)
            atomic_write(decoder_path, write_decoder)

    atomic_write(step_path, write_step)
    files = {"decoder": decoder_path.name} if decoder_head is not None else {}
    return {"onnx": step_path, "kind": "autoregressive", "files": files, "parity": parity}
