"""Micro-batching: concurrent calls share one run, each caller gets its own rows, errors reach everyone."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from studio.microbatch import MicroBatcher
from studio.onnx.options import LONG_GRAPH_NODES, node_count
from studio.onnx.runtime import load_generator, seeded_noise
from studio.registry import manifest


def _concurrently(fn, inputs: list[np.ndarray]) -> list:  # noqa: ANN001
    results: list = [None] * len(inputs)
    barrier = threading.Barrier(len(inputs))

    def call(i: int) -> None:
        barrier.wait()
        try:
            results[i] = fn(inputs[i])
        except Exception as exc:  # noqa: BLE001 - the test reads it
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_callers_share_a_run_and_get_their_own_rows():
    calls = []

    def run(z: np.ndarray) -> np.ndarray:
        calls.append(len(z))
        return z * 2

    batcher = MicroBatcher(run, window=0.2)
    inputs = [np.full((n, 3), i, np.float32) for i, n in enumerate((1, 4, 2, 3))]
    results = _concurrently(batcher, inputs)
    for z, out in zip(inputs, results):
        np.testing.assert_array_equal(out, z * 2)
    assert sum(calls) == 10 and len(calls) < 4  # fewer runs than callers
    assert batcher.requests_served == 4


def test_an_error_reaches_every_caller_of_the_batch():
    def run(z: np.ndarray) -> np.ndarray:
        raise ValueError("broken session")

    results = _concurrently(MicroBatcher(run, window=0.2), [np.zeros((2, 3), np.float32)] * 3)
    assert all(isinstance(r, ValueError) for r in results)


def test_a_one_shot_generators_rows_do_not_depend_on_their_batch():
    """Why micro-batching keeps "same seed, same picture": a row's samples are bitwise the same in any batch."""
    # The unrolled decoders (20,000-node graphs) take seconds to open; the convolutional and MLP ones suffice.
    entries = [e for e in manifest.entries() if e.get("kind", "one-shot") == "one-shot"
               and node_count(manifest.path_of(e, "onnx")) <= LONG_GRAPH_NODES]
    if not entries:
        pytest.skip("no one-shot generator in trained/")
    for entry in entries:
        generator = load_generator(manifest.path_of(entry, "onnx"), device="cpu")
        own, others = seeded_noise(4, generator.z_dim, 1), seeded_noise(12, generator.z_dim, 2)
        alone = generator.run(own)
        among = generator.run(np.concatenate([others[:5], own, others[5:]]))[5:9]
        np.testing.assert_array_equal(alone, among, err_msg=entry["id"])
