"""A checked spec -> the family process, its batches and the loop settings: the project's own families and
its one training loop, with Lab-sized networks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.families.base import GenerativeProcess
from studio.families.flow import FlowProcess
from studio.families.gan import GANProcess
from studio.families.vae import VAEProcess
from studio.lab import networks as nets
from studio.lab.spec import VAE_LATENT
from studio.lab.toys import TOYS
from studio.lab.view import IMAGES_FILE
from studio.training.loop import LoopConfig

BATCH = {"points": 256, "images": 64}
Z_DIM = {"points": 8, "images": 32}
HIDDEN = {"points": 128, "images": 256}
#: The live generator averaged over about the last 100 steps: a Lab run is a few thousand steps long, so the
#: trained models' 0.999 (about 1,000 steps) would show mostly the generator of a minute ago.
LAB_EMA_DECAY = 0.99


@dataclass
class LabRun:
    process: GenerativeProcess
    batches: Any  # step -> batch
    loop: LoopConfig
    kind: str  # "points" or "images"
    eval_data: torch.Tensor


def load_lab_images(path: Path = IMAGES_FILE) -> tuple[np.ndarray, np.ndarray]:
    """The Lab's Fashion-MNIST subset: uint8 images [N, 28, 28] and labels [N]."""
    if not path.exists():
        raise FileNotFoundError(f"the Lab's image set is missing ({path}); rebuild it with "
                                "`python scripts/make_lab_data.py`")
    data = np.load(path)
    return data["images"], data["labels"]


def _data(spec: dict[str, Any]) -> tuple[str, torch.Tensor]:
    """("points" | "images", the training set [N, dims] in the model's scale)."""
    if spec["data"] == "images":
        images, _ = load_lab_images()
        return "images", torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 127.5 - 1.0)
    toy = TOYS[spec["data"]]
    return "points", torch.from_numpy(toy.sample(20_000, np.random.default_rng(spec["seed"])))


def _batches(train: torch.Tensor, batch_size: int, seed: int) -> Any:
    def batch(step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed * 7_919 + step)  # deterministic in the step: resumable, seeded
        return train[torch.randint(len(train), (batch_size,), generator=g)]

    return batch


def build(spec: dict[str, Any]) -> LabRun:
    """The process for a validated spec (``spec.validate``), seeded by ``spec["seed"]``."""
    torch.manual_seed(spec["seed"])
    kind, train = _data(spec)
    dims = train.shape[1]
    family = spec["family"]
    z_dim, hidden = Z_DIM[kind], HIDDEN[kind]
    loop = dict(steps=spec["steps"], ckpt_every=100, log_every=10, preview_every=10, eval_every=0, warmup_steps=0,
                min_lr_fraction=1.0, grad_clip=10.0, ema_decay=0.0, seed=spec["seed"])
    if family == "gan":
        knobs = spec["gan"]
        process = GANProcess(
            nets.Generator(z_dim, dims, hidden, squash=kind == "images"),
            nets.Critic(dims, hidden, pack=knobs["pack"], spectral=knobs["spectral_norm"]),
            modality=f"lab-{kind}", z_dim=z_dim, sample_shape=(dims,), lr_g=knobs["lr_g"], lr_d=knobs["lr_d"],
            betas=(knobs["beta1"], knobs["beta2"]), objective=knobs["loss"], gp_weight=knobs["gp_weight"],
            g_every=knobs["d_steps"])
        loop["ema_decay"] = LAB_EMA_DECAY if knobs["ema"] else 0.0  # 0: the "average" is the live generator
    elif family == "vae":
        knobs = spec["vae"]
        latent = VAE_LATENT[kind]
        if kind == "points" and knobs["strong_decoder"]:
            decoder, recon, head, sampling = (nets.MixtureDecoder(dims, latent, hidden), nets.mixture_nll,
                                              lambda dec: nets.SampledMixture(dec, latent), 1 + dims)
        elif kind == "points":
            decoder, recon, head, sampling = (nets.GaussianDecoder(dims, latent, hidden), nets.gaussian_nll,
                                              lambda dec: nets.SampledPoints(dec, latent), dims)
        else:
            decoder, recon, head, sampling = (nets.BernoulliDecoder(dims, latent, hidden), nets.bernoulli_nll,
                                              nets.MeanImage, 0)
        process = VAEProcess(
            nets.Encoder(dims, latent, hidden), decoder, modality=f"lab-{kind}", z_dim=latent,
            sample_shape=(dims,), recon_nll=recon, export_head=head, lr=1e-3,
            kl_warmup_steps=knobs["warmup_steps"], free_bits=knobs["free_bits"], beta_max=knobs["beta"],
            eval_data=train[:2000], sampling_dims=sampling, batch_example=lambda n: train[:n])
        loop["eval_every"] = 100  # active units, for the live chart
    else:
        knobs = spec["flow"]
        process = FlowProcess(nets.PointFlow(knobs["depth"], 64, knobs["actnorm"]), modality="lab-points",
                              sample_shape=(dims,), lr=knobs["lr"], eval_data=train[:2000],
                              dequantization=nets.ContinuousPoints(), batch_example=lambda n: train[:n])
        loop["grad_clip"] = 1.0 if knobs["clip"] else math.inf
        loop["eval_every"] = 100
    return LabRun(process, _batches(train, BATCH[kind], spec["seed"]), LoopConfig(**loop), kind, train[:2000])
