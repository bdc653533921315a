"""Feature-space fidelity/diversity metrics (numpy only).

- Fréchet distance between Gaussians fitted to the two feature sets (Heusel et al. 2017).
- Precision/recall with k-NN manifolds (Kynkäänniemi et al. 2019), k=3.
- Density/coverage (Naeem et al. 2020), k=5 as in the paper.
"""

from __future__ import annotations

import numpy as np

PR_K = 3
DC_K = 5


def _sqrtm_psd(mat: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(mat)
    return (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T


def frechet_distance(gen: np.ndarray, real: np.ndarray) -> float:
    """||mu_g - mu_r||^2 + Tr(S_g + S_r - 2 (S_g S_r)^1/2); features [N, D]."""
    gen, real = gen.astype(np.float64), real.astype(np.float64)
    mu_g, mu_r = gen.mean(0), real.mean(0)
    cov_g, cov_r = np.cov(gen, rowvar=False), np.cov(real, rowvar=False)
    # Tr((S_g S_r)^1/2) = Tr((S_r^1/2 S_g S_r^1/2)^1/2), whose argument is symmetric PSD.
    root_r = _sqrtm_psd(cov_r)
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_r @ cov_g @ root_r), 0.0, None)).sum()
    fd = float(((mu_g - mu_r) ** 2).sum() + np.trace(cov_g) + np.trace(cov_r) - 2.0 * cross)
    return max(fd, 0.0)


def pairwise_distances(a: np.ndarray, b: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Euclidean distances [len(a), len(b)] in float32, computed in row chunks."""
    a, b = a.astype(np.float32), b.astype(np.float32)
    b_sq = (b * b).sum(1)
    out = np.empty((len(a), len(b)), dtype=np.float32)
    for i in range(0, len(a), chunk):
        block = a[i : i + chunk]
        sq = (block * block).sum(1)[:, None] + b_sq[None, :] - 2.0 * block @ b.T
        out[i : i + chunk] = np.sqrt(np.clip(sq, 0.0, None))
    return out


def kth_neighbour_radii(feats: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point in the same set."""
    d = pairwise_distances(feats, feats)
    # Column 0 of the sorted row is the point itself (distance 0).
    return np.partition(d, k, axis=1)[:, k]


def manifold_metrics(gen: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """precision, recall (k=3) and density, coverage (k=5) of ``gen`` against ``real``."""
    real_pr, gen_pr = kth_neighbour_radii(real, PR_K), kth_neighbour_radii(gen, PR_K)
    real_dc = kth_neighbour_radii(real, DC_K)
    d_gr = pairwise_distances(gen, real)  # (G, R)
    precision = float((d_gr <= real_pr[None, :]).any(1).mean())
    recall = float((d_gr.T <= gen_pr[None, :]).any(1).mean())
    inside = d_gr <= real_dc[None, :]  # (G, R): gen j inside real i's k-NN ball
    density = float(inside.sum() / (DC_K * len(gen)))
    coverage = float((d_gr.min(0) <= real_dc).mean())
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}
