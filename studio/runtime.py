"""ONNX Runtime wrapper for one-shot generators. Imports no torch.

CUDA is used only when a session really runs there: onnxruntime-gpu lists the CUDA provider
even on machines without a usable GPU, so the provider is read back from the session.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from studio.contract import SAMPLE_OUTPUT, Z_INPUT, GeneratorInfo, validate_session

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_dlls_preloaded = False


class GeneratorUnavailable(RuntimeError):
    """A generator file is missing, corrupt or breaks the contract."""


def _preload_cuda_libraries() -> None:
    # Lets ORT find the CUDA/cuDNN libraries that the torch wheels ship, without torch.
    global _dlls_preloaded
    if not _dlls_preloaded and hasattr(ort, "preload_dlls"):
        try:
            ort.preload_dlls()
        except Exception:  # noqa: BLE001 - a failed preload only means CPU
            pass
        _dlls_preloaded = True


def session_options(threads: int | None = None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.log_severity_level = 3  # errors only: a CPU fallback is expected, not alarming
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    return opts


def make_session(path: str | Path, device: str = "auto", threads: int | None = None) -> ort.InferenceSession:
    """Open ``path`` on ``device`` ('auto', 'cuda' or 'cpu').

    'cuda' raises if the session does not really run on CUDA; 'auto' falls back to CPU.
    """
    if device not in ("auto", "cuda", "cpu"):
        raise ValueError(f"device must be 'auto', 'cuda' or 'cpu', not {device!r}")
    path = str(path)
    want_cuda = device == "cuda" or (
        device == "auto" and CUDA in ort.get_available_providers() and os.environ.get("STUDIO_DEVICE") != "cpu"
    )
    if want_cuda:
        _preload_cuda_libraries()
        try:
            session = ort.InferenceSession(path, sess_options=session_options(threads), providers=[CUDA, CPU])
        except Exception as exc:  # noqa: BLE001
            if device == "cuda":
                raise RuntimeError(f"could not open {path} on CUDA: {exc}") from exc
            session = None
        if session is not None and session.get_providers()[0] == CUDA:
            return session
        if device == "cuda":
            raise RuntimeError(
                "CUDA was requested but ONNX Runtime fell back to CPU "
                f"(session providers: {session.get_providers() if session else 'none'}); "
                "check the GPU driver and that onnxruntime-gpu matches the installed CUDA"
            )
    return ort.InferenceSession(path, sess_options=session_options(threads), providers=[CPU])


def seeded_noise(n: int, z_dim: int, seed: int) -> np.ndarray:
    """The noise a seed stands for: float32 [n, z_dim] standard normal (same on every machine)."""
    return np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)


class OnnxGenerator:
    """A one-shot generator served from its ONNX file."""

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None):
        self.path = Path(path)
        if not self.path.exists():
            raise GeneratorUnavailable(f"{self.path} does not exist")
        try:
            self.session = make_session(self.path, device=device, threads=threads)
        except RuntimeError as exc:
            if device == "cuda":
                raise
            raise GeneratorUnavailable(f"{self.path} could not be loaded: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - ORT raises several types for a corrupt file
            raise GeneratorUnavailable(f"{self.path} is not a readable ONNX file: {exc}") from exc
        try:
            self.info: GeneratorInfo = validate_session(self.session)
        except ValueError as exc:
            raise GeneratorUnavailable(f"{self.path} breaks the generator contract: {exc}") from exc

    @property
    def provider(self) -> str:
        """The execution provider the session really runs on."""
        return self.session.get_providers()[0]

    @property
    def z_dim(self) -> int:
        assert self.info.z_dim is not None
        return self.info.z_dim

    def run(self, z: np.ndarray) -> np.ndarray:
        """Samples for the noise ``z`` float32 [n, z_dim]."""
        return self.session.run([SAMPLE_OUTPUT], {Z_INPUT: np.ascontiguousarray(z, dtype=np.float32)})[0]

    def sample(self, n: int, seed: int = 0, batch_size: int = 500, temperature: float = 1.0) -> np.ndarray:
        """``n`` samples for ``seed``; the same seed always gives the same samples."""
        z = seeded_noise(n, self.z_dim, seed) * np.float32(temperature)
        parts = [self.run(z[i : i + batch_size]) for i in range(0, n, batch_size)]
        return np.concatenate(parts, axis=0)
