"""Recipes: turn a config into a generative process and a batch source, per (family, modality).

This is the one place where families meet modalities; the loop, export, runtime and app never branch on them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from studio import music_recipes, text_recipes
from studio.families.base import GenerativeProcess
from studio.families.gan import GANProcess
from studio.families.likelihoods import discretized_logistic_nll
from studio.families.flow import FlowProcess
from studio.families.transformer import TransformerProcess, build_gpt
from studio.families.vqvae import VQVAEProcess
from studio.families.vae import VAEProcess
from studio.modalities.image import make_grid, to_unit_range
from studio.modalities.image_torch import ToUint8Image
from studio.networks import conv_vae, dcgan, glow, vqvae

IMAGE_SHAPE = (28, 28, 1)
PREVIEW_SEED = 0


def save_image_grid(images: np.ndarray, path: Path) -> None:
    """uint8 [N, 28, 28, 1] -> an 8-column PNG grid, written atomically."""
    from PIL import Image

    from studio.atomic import atomic_write

    grid = make_grid(images, columns=8, scale=2)
    atomic_write(path, lambda tmp: Image.fromarray(grid).save(tmp, format="PNG"))


def save_image_preview(module: torch.nn.Module, z_dim: int, path: Path, n: int = 64) -> None:
    """A fixed-noise 8x8 grid, so previews over training show the same 64 latents evolving."""
    z = torch.from_numpy(np.random.default_rng(PREVIEW_SEED).standard_normal((n, z_dim), dtype=np.float32))
    save_image_grid(module.eval()(z).numpy(), path)  # (n, 28, 28, 1) uint8


def build_image_gan(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    return GANProcess(
        dcgan.Generator(m["z_dim"], m["g_width"]), dcgan.Discriminator(m["d_width"]),
        modality="image", z_dim=m["z_dim"], sample_shape=IMAGE_SHAPE,
        lr_g=config["lr_g"], lr_d=config["lr_d"], head=ToUint8Image, preview_fn=save_image_preview,
    )


def build_image_vae(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    eval_data = data["test_tensor"] if data else None
    return VAEProcess(
        conv_vae.Encoder(m["z_dim"], m["width"]), conv_vae.Decoder(m["z_dim"], m["width"]),
        modality="image", z_dim=m["z_dim"], sample_shape=IMAGE_SHAPE,
        recon_nll=lambda x, out: discretized_logistic_nll(x, *out),
        export_head=lambda dec: ToUint8Image(conv_vae.DecoderMean(dec)),
        lr=config["lr"], kl_warmup_steps=config["kl_warmup_steps"], eval_data=eval_data,
        preview_fn=save_image_preview,
    )


def build_image_flow(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    return FlowProcess(
        glow.Glow((1, 28, 28), levels=m["levels"], steps=m["steps"], hidden=m["hidden"]),
        modality="image", sample_shape=IMAGE_SHAPE, lr=config["lr"],
        eval_data=data["test_tensor"] if data else None, preview_fn=save_image_preview,
    )


def build_image_vqvae(config: dict[str, Any], data: dict[str, Any] | None = None) -> VQVAEProcess:
    m = config["vqvae"]["model"]
    return VQVAEProcess(vqvae.VQVAE(m["codes"], m["dim"], m["width"]), modality="image", lr=config["vqvae"]["lr"],
                        eval_data=data["test_tensor"] if data else None)


def build_image_transformer(config: dict[str, Any], data: dict[str, Any] | None = None,
                            vq: VQVAEProcess | None = None) -> TransformerProcess:
    """A GPT prior over the VQ-VAE's 7x7 codes; ``vq`` is the trained first stage (random for benchmarks)."""
    m = config["model"]
    vq = vq or build_image_vqvae(config)
    codes = config["vqvae"]["model"]["codes"]
    gpt = build_gpt(vocab=codes + 1, seq_len=49, width=m["width"], layers=m["layers"], heads=m["heads"],
                    dropout=m.get("dropout", 0.1))
    return TransformerProcess(gpt, modality="image", seq_len=49, decoder=vqvae.CodesToImage(vq.vqvae),
                              sample_shape=IMAGE_SHAPE, lr=config["lr"],
                              eval_tokens=data.get("test_tokens") if data else None,
                              preview_fn=save_image_grid,
                              likelihood_kind="exact, over the VQ-VAE's code tokens (not pixels)")


def load_image_data(data_dir: str | None) -> dict[str, Any]:
    from studio.data.image import PROVENANCE, load_fashion_mnist

    splits = load_fashion_mnist(data_dir)
    return {
        "train_tensor": torch.from_numpy(to_unit_range(splits["train"].images)),  # (60000, 1, 28, 28)
        "test_tensor": torch.from_numpy(to_unit_range(splits["test"].images)),  # (10000, 1, 28, 28)
        "dataset": "fashion-mnist",
        "provenance": PROVENANCE,
    }


def random_batches(train: torch.Tensor, batch_size: int, seed: int, device: str | torch.device) -> Callable[[int], torch.Tensor]:
    """step -> a batch drawn with a generator seeded by the step, so a resumed run sees the same data."""

    def batch(step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed * 7_919 + step)
        return train[torch.randint(len(train), (batch_size,), generator=g)].to(device)

    return batch


BUILDERS: dict[tuple[str, str], Callable[..., GenerativeProcess]] = {
    ("gan", "image"): build_image_gan,
    ("vae", "image"): build_image_vae,
    ("flow", "image"): build_image_flow,
    ("transformer", "image"): build_image_transformer,
    **text_recipes.BUILDERS,
    **music_recipes.BUILDERS,
}


def image_transformer_stages(config: dict[str, Any], data: dict[str, Any],
                             device: str) -> Iterator[tuple[str, GenerativeProcess, Any, dict]]:
    """A VQ-VAE, then a prior over its codes; the prior is built only after the VQ-VAE has trained."""
    seed = config["loop"].get("seed", 0)
    vq = build_image_vqvae(config, data)
    yield "vqvae", vq, random_batches(data["train_tensor"], config["vqvae"]["batch_size"], seed, device), \
        config["vqvae"]["loop"]
    vq.cpu()
    data["train_tokens"] = vq.encode_all(data["train_tensor"])  # (60000, 49) int64
    data["test_tokens"] = vq.encode_all(data["test_tensor"])  # (10000, 49)
    process = build_image_transformer(config, data, vq)
    yield "prior", process, random_batches(data["train_tokens"], config["batch_size"], seed, device), config["loop"]


#: Recipes trained in more than one stage; every other recipe is one stage.
STAGED: dict[tuple[str, str], Callable[..., Iterator[tuple[str, GenerativeProcess, Any, dict]]]] = {
    ("transformer", "image"): image_transformer_stages,
    **text_recipes.STAGED,
    **music_recipes.STAGED,
}


def stages(config: dict[str, Any], data: dict[str, Any], device: str) -> Iterator[tuple[str, GenerativeProcess, Any, dict]]:
    """The training stages of a recipe, in order: (name, process, batches, loop config)."""
    staged = STAGED.get((config["family"], config["modality"]))
    if staged is not None:
        yield from staged(config, data, device)
        return
    seed = config["loop"].get("seed", 0)
    process = build_process(config, data)
    yield "", process, random_batches(data["train_tensor"], config["batch_size"], seed, device), config["loop"]


DATA_LOADERS: dict[str, Callable[[str | None], dict[str, Any]]] = {"image": load_image_data,
                                                                   "text": text_recipes.load_text_data,
                                                                   "music": music_recipes.load_music_data}


def evaluate_image_file(onnx_path: Path, n_samples: int) -> dict[str, Any]:
    from studio.metrics.image import evaluate_generator

    return dict(evaluate_generator(onnx_path, n_samples=n_samples, device="cpu"))


def evaluate_text_file(onnx_path: Path, n_samples: int) -> dict[str, Any]:
    from studio.metrics.text import evaluate_generator

    return dict(evaluate_generator(onnx_path, n_samples=n_samples, device="cpu"))


#: modality -> (ONNX file, sample count) -> the protocol's metrics
EVALUATORS: dict[str, Callable[[Path, int], dict[str, Any]]] = {"image": evaluate_image_file,
                                                                "text": evaluate_text_file,
                                                                "music": music_recipes.evaluate_music_file}


def build_process(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    return BUILDERS[(config["family"], config["modality"])](config, data)


def build_generator(config: dict[str, Any]) -> torch.nn.Module:
    """The z -> sample PyTorch module for a config (random weights; for benchmarks and tests)."""
    return build_process(config).export_module()
