"""The one evaluate shell: draw a modality's samples from an ONNX generator with a fixed seed, score them.

Every recorded number comes from here, through the runtime the app uses. A modality supplies a
``Protocol``: its sample count and seed, its frozen reference, how to draw samples and how to score them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studio.onnx.runtime import AutoregressiveGenerator, OnnxGenerator, load_generator

Generator = OnnxGenerator | AutoregressiveGenerator


@dataclass(frozen=True)
class Protocol:
    modality: str
    n_samples: int  # the recorded count
    seed: int  # the recorded noise seed
    open_reference: Callable[[str], Any]  # device -> the frozen reference (raises FileNotFoundError naming its fix)
    draw: Callable[..., Any]  # (generator, n, seed, **sampling) -> samples
    score: Callable[[Any, Any], dict[str, Any]]  # (samples, reference) -> flat metrics
    real_baseline: Callable[[Any], dict[str, Any]]  # reference -> what real data scores as if it were samples
    real_baseline_what: str  # one line on what real_baseline scores
    #: sampling settings ``draw`` takes besides (n, seed), e.g. ("temperature", "top_k"); a model's default ones
    #: are recorded in its metrics.json as ``sampling`` (scripts/choose_sampling.py picks them on validation data)
    sampling_options: tuple[str, ...] = ()
    #: how far one element of a sample may move between CPUs and still be the same draw (images: 2 of 255
    #: levels, for kernels that round the last bits differently per instruction set; text and music: exact)
    head_tolerance: float = 0.0
    #: (generator, reference, n_samples, sampling) -> how well a conditional generator steers (a class asked for,
    #: a region completed) when drawn with ``sampling``, recorded under ``steering``; None for a modality without
    #: such checks yet
    steering: Callable[[Any, Any, int, dict[str, Any]], dict[str, Any]] | None = None
    #: absolute tolerances for steering numbers that can move between hosts, by their leaf name
    steering_tolerance: Mapping[str, float] | None = None


#: The first samples of an evaluation are fingerprinted. The digest is bitwise, so it identifies a draw on one
#: kind of CPU only; whether a file still draws its recorded samples on any CPU is studio.evaluation.heads' check.
DIGEST_SAMPLES = 500


def sample_digest(samples: Any) -> str:
    """sha256 of the first DIGEST_SAMPLES samples' shape, dtype and bytes (the same CPU family only)."""
    head = np.ascontiguousarray(np.asarray(samples)[:DIGEST_SAMPLES])
    return hashlib.sha256(f"{head.shape}{head.dtype}".encode() + head.tobytes()).hexdigest()


def check_sampling(protocol: Protocol, sampling: Mapping[str, Any] | None) -> dict[str, Any]:
    """``sampling`` as keyword arguments for ``protocol.draw``; raises ValueError naming what it accepts."""
    sampling = dict(sampling or {})
    unknown = sorted(set(sampling) - set(protocol.sampling_options))
    if unknown:
        accepted = ", ".join(protocol.sampling_options) or "none"
        raise ValueError(f"the {protocol.modality} protocol draws no samples with {', '.join(unknown)}; "
                         f"it accepts: {accepted}")
    return sampling


def evaluate(generator: Generator, protocol: Protocol, reference: Any, n_samples: int | None = None,
             seed: int | None = None, sampling: Mapping[str, Any] | None = None,
             steering: bool = True) -> dict[str, Any]:
    """Score ``n_samples`` samples of ``generator`` drawn with ``seed`` (the protocol's by default) and the
    ``sampling`` settings (e.g. {"temperature": 0.9}; none: the model's plain draw, temperature 1). A
    conditional generator is also scored on how it steers, unless ``steering`` is False (a live re-score of
    the unconditional numbers)."""
    if generator.info.modality != protocol.modality:
        raise ValueError(f"{generator.path} is a {generator.info.modality} generator, not a {protocol.modality} one")
    n = protocol.n_samples if n_samples is None else n_samples
    seed = protocol.seed if seed is None else seed
    options = check_sampling(protocol, sampling)
    t0 = time.perf_counter()
    samples = protocol.draw(generator, n, seed, **options)
    seconds = time.perf_counter() - t0
    metrics = protocol.score(samples, reference)
    metrics.update({"n_samples": n, "seed": seed, "eval_samples_per_s": n / seconds, "provider": generator.provider,
                    "sample_digest": sample_digest(samples), "sample_digest_n": min(n, DIGEST_SAMPLES)})
    if options:
        metrics["sampling"] = options
    if steering and protocol.steering is not None and getattr(generator, "conditions", ()):
        metrics["steering"] = protocol.steering(generator, reference, n, options)
    return metrics


def flat_numbers(tree: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """The numeric leaves of a nested dict as {"a.b": value} (lists and strings are left out)."""
    flat: dict[str, float] = {}
    for key, value in tree.items():
        if isinstance(value, Mapping):
            flat.update(flat_numbers(value, f"{prefix}{key}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def evaluate_file(onnx_path: str | Path, protocol: Protocol, n_samples: int | None = None, seed: int | None = None,
                  reference: Any = None, device: str = "auto", sampling: Mapping[str, Any] | None = None
                  ) -> dict[str, Any]:
    """``evaluate`` on the generator in ``onnx_path``, opening the protocol's reference when none is given."""
    reference = protocol.open_reference(device) if reference is None else reference
    return evaluate(load_generator(onnx_path, device=device), protocol, reference, n_samples, seed, sampling)
