"""ONNX Runtime sessions for generator files: one-shot and autoregressive, seeded sampling. Imports no torch.

CUDA is used only when a session really runs there: onnxruntime-gpu lists the CUDA provider
even on machines without a usable GPU, so the provider is read back from the session.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

from studio.onnx.contract import (
    CODES_INPUT,
    LABEL_INPUT,
    MASK_INPUT,
    NOT_GIVEN_LABEL,
    SAMPLE_OUTPUT,
    VISIBLE_INPUT,
    Z_INPUT,
    GeneratorInfo,
    StepInfo,
    read_kind,
    validate_session,
    validate_step_session,
)
from studio.onnx.decoding import generate, ort_step, stream
from studio.onnx.options import session_options

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_dlls_preloaded = False


class GeneratorUnavailable(RuntimeError):
    """A generator file is missing, corrupt or breaks the contract."""


class ConditionError(ValueError):
    """A condition the generator cannot take (an unknown class, a region of the wrong shape): the message says
    what it can take."""


_NUMPY_TYPES = {"tensor(uint8)": np.uint8, "tensor(int64)": np.int64, "tensor(float)": np.float32}


def _preload_cuda_libraries() -> None:
    # Lets ORT find the CUDA/cuDNN libraries that the torch wheels ship, without torch.
    global _dlls_preloaded
    if not _dlls_preloaded and hasattr(ort, "preload_dlls"):
        try:
            ort.preload_dlls()
        except Exception:  # noqa: BLE001 - a failed preload only means CPU
            pass
        _dlls_preloaded = True


def nvidia_driver_present() -> bool:
    """Whether the NVIDIA driver library loads; without it the CUDA provider cannot work."""
    import ctypes

    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


def make_session(path: str | Path, device: str = "auto", threads: int | None = None) -> ort.InferenceSession:
    """Open ``path`` on ``device`` ('auto', 'cuda' or 'cpu').

    'cuda' raises if the session does not really run on CUDA; 'auto' falls back to CPU.
    """
    if device not in ("auto", "cuda", "cpu"):
        raise ValueError(f"device must be 'auto', 'cuda' or 'cpu', not {device!r}")
    path = str(path)
    # onnxruntime-gpu lists CUDA even with no GPU; without a driver, skip the (noisy) attempt.
    want_cuda = device == "cuda" or (
        device == "auto" and CUDA in ort.get_available_providers() and os.environ.get("STUDIO_DEVICE") != "cpu"
        and nvidia_driver_present()
    )
    if want_cuda:
        _preload_cuda_libraries()
        try:
            session = ort.InferenceSession(path, sess_options=session_options(path, threads), providers=[CUDA, CPU])
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
    return ort.InferenceSession(path, sess_options=session_options(path, threads), providers=[CPU])


def seeded_noise(n: int, z_dim: int, seed: int) -> np.ndarray:
    """The noise a seed stands for: float32 [n, z_dim] standard normal (same on every machine)."""
    return np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)


def slerp_noise(z_dim: int, seed_a: int, seed_b: int, frames: int) -> np.ndarray:
    """Spherical interpolation between the noise of two seeds: float32 [frames, z_dim].

    Gaussian noise lives near a sphere; straight lines between two draws pass through
    low-norm points a generator rarely saw, so the path follows the great circle instead.
    """
    a, b = seeded_noise(1, z_dim, seed_a)[0], seeded_noise(1, z_dim, seed_b)[0]
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    ts = np.linspace(0.0, 1.0, frames)
    if omega < 1e-6:
        return np.stack([(1 - t) * a + t * b for t in ts]).astype(np.float32)
    out = [(np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega) for t in ts]
    return np.stack(out).astype(np.float32)


def latent_line(a: np.ndarray, b: np.ndarray, steps: int, z_dim: int) -> np.ndarray:
    """The straight path from latent ``a`` to ``b`` [latent] in ``steps`` points, as a generator's noise input
    float32 [steps, z_dim]: a generator that also takes sampling noise after the latent gets zeros there (the
    text VAE's greedy draw, the music VAE's median one), so the samples change only because the latent does."""
    ts = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    path = (1 - ts) * a + ts * b  # (steps, latent)
    return np.concatenate([path, np.zeros((steps, z_dim - path.shape[1]), np.float32)], axis=1).astype(np.float32)


def _open(path: Path, device: str, threads: int | None) -> ort.InferenceSession:
    if not path.exists():
        raise GeneratorUnavailable(f"{path} does not exist")
    try:
        return make_session(path, device=device, threads=threads)
    except RuntimeError as exc:
        if device == "cuda":
            raise
        raise GeneratorUnavailable(f"{path} could not be loaded: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - ORT raises several types for a corrupt file
        raise GeneratorUnavailable(f"{path} is not a readable ONNX file: {exc}") from exc


class _ServedGenerator:
    """An opened generator file, checked against the contract by ``validate``."""

    validate = staticmethod(validate_session)

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None,
                 session: ort.InferenceSession | None = None):
        self.path = Path(path)
        self.session = session or _open(self.path, device, threads)
        try:
            self.info = self.validate(self.session)
        except ValueError as exc:
            raise GeneratorUnavailable(f"{self.path} breaks the generator contract: {exc}") from exc

    @property
    def provider(self) -> str:
        """The execution provider the session really runs on."""
        return self.session.get_providers()[0]


class OnnxGenerator(_ServedGenerator):
    """A one-shot generator served from its ONNX file."""

    autoregressive = False  # z -> sample in one run

    info: GeneratorInfo

    @property
    def z_dim(self) -> int:
        assert self.info.z_dim is not None
        return self.info.z_dim

    @property
    def conditions(self) -> tuple[str, ...]:
        """The conditions the file takes ("class", "region"); () for an unconditional generator."""
        return self.info.conditions

    @property
    def classes(self) -> tuple[str, ...]:
        return self.info.classes

    def condition_feeds(self, n: int, label: int | np.ndarray | None = None, mask: np.ndarray | None = None,
                        visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The condition inputs for ``n`` samples. ``label``: one class index for all, or int [n]; None or -1 is
        any class. ``mask`` (1 = given) and ``visible``: one sample-shaped array for all, or [n, *sample_shape].
        A condition the caller leaves out is fed as "not given"; one the file cannot take raises ConditionError."""
        shape = self.info.sample_shape
        feeds: dict[str, np.ndarray] = {}
        if label is not None and np.any(np.asarray(label) != NOT_GIVEN_LABEL) and not self.info.takes("class"):
            raise ConditionError(f"{self.path.parent.name} cannot be asked for a class; pick a class-conditional "
                                 "model or leave the class at any")
        if mask is not None and np.any(mask) and not self.info.takes("region"):
            raise ConditionError(f"{self.path.parent.name} cannot complete a sample; pick a model that completes")
        if self.info.takes("class"):
            labels = np.broadcast_to(np.asarray(NOT_GIVEN_LABEL if label is None else label, dtype=np.int64), (n,))
            bad = labels[(labels < NOT_GIVEN_LABEL) | (labels >= len(self.classes))]
            if bad.size:
                raise ConditionError(f"class {int(bad[0])} is unknown: choose 0-{len(self.classes) - 1} "
                                     f"({', '.join(self.classes)}) or -1 for any")
            feeds[LABEL_INPUT] = np.ascontiguousarray(labels)
        if self.info.takes("region"):
            dtype = self._visible_dtype
            for name, value in (("mask", mask), ("visible", visible)):
                if value is not None and tuple(np.shape(value))[-len(shape):] != shape:
                    raise ConditionError(f"the {name} must have the sample's shape {list(shape)}; got "
                                         f"{list(np.shape(value))}")
            given = np.zeros(shape, np.uint8) if mask is None else (np.asarray(mask) != 0).astype(np.uint8)
            values = np.zeros(shape, dtype) if visible is None else np.asarray(visible).astype(dtype)
            feeds[MASK_INPUT] = np.ascontiguousarray(np.broadcast_to(given, (n, *shape)))
            feeds[VISIBLE_INPUT] = np.ascontiguousarray(np.broadcast_to(values, (n, *shape)))
        return feeds

    @property
    def _visible_dtype(self) -> type:
        return next(_NUMPY_TYPES[i.type] for i in self.session.get_inputs() if i.name == VISIBLE_INPUT)

    def run(self, z: np.ndarray, **conditions: np.ndarray) -> np.ndarray:
        """Samples for the noise ``z`` float32 [n, z_dim]; ``conditions`` as ``condition_feeds`` takes them."""
        z = np.ascontiguousarray(z, dtype=np.float32)
        feeds = self.condition_feeds(len(z), **conditions) if (self.conditions or conditions) else {}
        return self.session.run([SAMPLE_OUTPUT], {Z_INPUT: z, **feeds})[0]

    def sample(self, n: int, seed: int = 0, batch_size: int = 500, temperature: float = 1.0,
               label: int | np.ndarray | None = None, mask: np.ndarray | None = None,
               visible: np.ndarray | None = None) -> np.ndarray:
        """``n`` samples for ``seed``; the same seed always gives the same samples. ``label``, ``mask`` and
        ``visible`` steer a conditional file (see ``condition_feeds``); per-sample arrays are split with z."""
        z = seeded_noise(n, self.z_dim, seed) * np.float32(temperature)
        given = label is not None or mask is not None or visible is not None
        feeds = self.condition_feeds(n, label, mask, visible) if (self.conditions or given) else {}
        parts = [self.session.run([SAMPLE_OUTPUT], {Z_INPUT: z[i : i + batch_size],
                                                    **{k: v[i : i + batch_size] for k, v in feeds.items()}})[0]
                 for i in range(0, n, batch_size)]
        return np.concatenate(parts, axis=0)


class AutoregressiveGenerator(_ServedGenerator):
    """A step graph with a KV cache, plus its token decoder when the tokens are not the sample themselves
    (a Transformer prior over VQ codes has one; a character model's tokens are its text)."""

    autoregressive = True  # token by token through a KV-cache step graph; it has no z

    validate = staticmethod(validate_step_session)
    info: StepInfo
    z_dim = None  # no latent noise input: nothing to interpolate

    def __init__(self, path: str | Path, device: str = "auto", threads: int | None = None,
                 session: ort.InferenceSession | None = None):
        super().__init__(path, device, threads, session)
        self.decoder = _open(self.path.parent / self.info.decoder, device, threads) if self.info.decoder else None

    @property
    def max_context(self) -> int:
        return self.info.seq_len + 1  # BOS plus seq_len tokens: the positions the model was trained on

    def _decoding(self, **kwargs):  # noqa: ANN003, ANN202
        info = self.info
        return dict(step=ort_step(self.session), bos=info.bos, cache_shape=(info.layers, info.heads, info.head_dim),
                    max_context=self.max_context, **kwargs)

    def tokens(self, n: int, seed: int = 0, temperature: float = 1.0, top_k: int = 0,
               use_cache: bool = True) -> np.ndarray:
        """int64 [n, seq_len]: whole sequences from BOS."""
        return generate(n=n, length=self.info.seq_len, **self._decoding(seed=seed, temperature=temperature,
                                                                       top_k=top_k, use_cache=use_cache))

    def stream_ids(self, prefix: np.ndarray, count: int, seed: int = 0, temperature: float = 1.0, top_k: int = 0,
                   top_p: float = 1.0):  # noqa: ANN201 - an iterator of int64 [n]
        """Continue ``prefix`` (int64 [n, p]) by ``count`` tokens, yielding each step's tokens as it is drawn."""
        return stream(n=len(prefix), count=count, prefix=prefix if prefix.shape[1] else None,
                      **self._decoding(seed=seed, temperature=temperature, top_k=top_k, top_p=top_p))

    def continue_ids(self, prefix: np.ndarray, count: int, seed: int = 0, temperature: float = 1.0, top_k: int = 0,
                     top_p: float = 1.0) -> np.ndarray:
        """The ``count`` new tokens after ``prefix`` (int64 [n, p]): int64 [n, count]."""
        steps = list(self.stream_ids(prefix, count, seed=seed, temperature=temperature, top_k=top_k, top_p=top_p))
        return np.stack(steps, axis=1) if steps else np.zeros((len(prefix), 0), dtype=np.int64)

    def decode(self, tokens: np.ndarray) -> np.ndarray:
        if self.decoder is None:  # the tokens are the sample: whole sequences fill sample_shape row-major
            tokens = tokens.astype(np.int64)
            shape = self.info.sample_shape
            whole = bool(shape) and int(np.prod(shape)) == tokens.shape[1]
            return tokens.reshape(len(tokens), *shape) if whole else tokens
        return self.decoder.run([SAMPLE_OUTPUT], {CODES_INPUT: tokens.astype(np.int64)})[0]

    def sample(self, n: int, seed: int = 0, batch_size: int = 500, temperature: float = 1.0,
               top_k: int = 0) -> np.ndarray:
        """``n`` samples for ``seed``; chunks of ``batch_size`` use seeds derived from ``seed``."""
        parts = [self.decode(self.tokens(min(batch_size, n - i), seed=seed * 100_003 + i // batch_size,
                                         temperature=temperature, top_k=top_k))
                 for i in range(0, n, batch_size)]
        return np.concatenate(parts, axis=0)


def load_generator(path: str | Path, device: str = "auto", threads: int | None = None):
    """Open any generator file as the class its metadata names (one-shot or autoregressive)."""
    path = Path(path)
    session = _open(path, device, threads)
    if read_kind(session) == "autoregressive":
        return AutoregressiveGenerator(path, device=device, threads=threads, session=session)
    return OnnxGenerator(path, device=device, threads=threads, session=session)
