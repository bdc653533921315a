"""Fashion-MNIST from IDX files (Debian's ``dataset-fashion-mnist`` or any folder of the four files).

MNIST-format folders work the same way through ``--data-dir``.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.registry.record import DataMissing

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
PROVENANCE = ("Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence), "
              "from the Debian package dataset-fashion-mnist")
SETUP_HINT = "run `bash scripts/get_data.sh` (installs Debian's dataset-fashion-mnist), or pass --data-dir"


@dataclass(frozen=True)
class ImageSplit:
    images: np.ndarray  # uint8 [N, 28, 28]
    labels: np.ndarray  # int64 [N]


def _find(data_dir: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (data_dir / name).exists():
            return data_dir / name
    raise DataMissing(f"{data_dir} has no {stem}[.gz]; {SETUP_HINT}")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4:
        raise ValueError(f"{path} is too short to be an IDX file")
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not an unsigned-byte IDX file")
    shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: expected {int(np.prod(shape))} values, found {body.size}")
    return body.reshape(shape)


def load_fashion_mnist(data_dir: str | Path | None = None) -> dict[str, ImageSplit]:
    """Train and test splits; raises DataMissing with the set-up command when absent."""
    data_dir = Path(data_dir) if data_dir else DEBIAN_DIR
    if not data_dir.is_dir():
        raise DataMissing(f"Fashion-MNIST not found at {data_dir}; {SETUP_HINT}")
    arrays = {key: read_idx(_find(data_dir, stem)) for key, stem in FILES.items()}
    splits = {}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"].astype(np.int64)
        if images.shape[0] != labels.shape[0]:
            raise ValueError(f"{split}: {images.shape[0]} images but {labels.shape[0]} labels in {data_dir}")
        splits[split] = ImageSplit(images=np.ascontiguousarray(images), labels=labels)
    return splits
