"""The Fashion-MNIST loader: IDX parsing, --data-dir, and the message when data are missing."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from studio.image.data import DEBIAN_DIR, FILES, load_fashion_mnist, read_idx
from studio.registry.record import DataMissing


def _write_idx(path, array: np.ndarray, gz: bool) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


@pytest.mark.parametrize("gz", [True, False])
def test_reads_a_data_dir_of_idx_files(tmp_path, gz):
    rng = np.random.default_rng(0)
    for key, stem in FILES.items():
        n = 5 if key.startswith("train") else 3
        arr = rng.integers(0, 255, (n, 28, 28)) if key.endswith("images") else rng.integers(0, 10, (n,))
        _write_idx(tmp_path / (stem + (".gz" if gz else "")), arr, gz)
    splits = load_fashion_mnist(tmp_path)
    assert splits["train"].images.shape == (5, 28, 28) and splits["test"].labels.shape == (3,)
    assert splits["train"].images.dtype == np.uint8


def test_missing_data_names_the_setup_script(tmp_path):
    with pytest.raises(DataMissing, match="scripts/get_data.sh"):
        load_fashion_mnist(tmp_path / "nowhere")
    with pytest.raises(DataMissing, match="scripts/get_data.sh"):
        load_fashion_mnist(tmp_path)  # exists but empty


def test_truncated_file_is_rejected(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    _write_idx(path, np.zeros((2, 28, 28)), gz=False)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(path)


def test_training_script_without_data_says_how_to_install(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "scripts/train_gan.py", "--modality", "image", "--preset", "tiny",
                          "--data-dir", str(tmp_path), "--run-dir", str(tmp_path / "run"),
                          "--out-dir", str(tmp_path / "out")], cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "scripts/get_data.sh" in out.stderr


@pytest.mark.slow
@pytest.mark.skipif(not DEBIAN_DIR.exists(), reason="Fashion-MNIST is not installed (bash scripts/get_data.sh)")
def test_real_fashion_mnist_has_the_standard_splits():
    splits = load_fashion_mnist()
    assert splits["train"].images.shape == (60000, 28, 28) and splits["test"].images.shape == (10000, 28, 28)
    assert np.bincount(splits["test"].labels).tolist() == [1000] * 10
