"""Image recipes: the four families on Fashion-MNIST (28x28 grey), each with its presets and description."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.families.base import GenerativeProcess
from studio.families.flow import FlowProcess
from studio.families.gan import GANProcess
from studio.families.transformer import TransformerProcess
from studio.families.vae import VAEProcess
from studio.families.vqvae import VQVAEProcess
from studio.image.codec import save_image_grid, to_unit_range
from studio.image.data import PROVENANCE, load_fashion_mnist
from studio.image.networks import conv_vae, dcgan, vqvae
from studio.image.networks.heads import PixelDequantization, ToUint8Image
from studio.layers.glow import Glow
from studio.layers.gpt import build_gpt
from studio.layers.likelihoods import discretized_logistic_nll
from studio.training.recipe import LOOP_TINY, Recipe, Stage, random_batches

IMAGE_SHAPE = (28, 28, 1)  # served: uint8 [N, 28, 28, 1]
PREVIEW_SEED = 0
CODE_GRID = 49  # the VQ-VAE's 7x7 codes per image


def load_data(data_dir: str | None) -> dict[str, Any]:
    splits = load_fashion_mnist(data_dir)
    return {
        "train_tensor": torch.from_numpy(to_unit_range(splits["train"].images)),  # (60000, 1, 28, 28)
        "test_tensor": torch.from_numpy(to_unit_range(splits["test"].images)),  # (10000, 1, 28, 28)
        "train_labels": torch.from_numpy(splits["train"].labels),  # (60000,) int64
        "test_labels": torch.from_numpy(splits["test"].labels),  # (10000,)
        "dataset": "fashion-mnist",
        "provenance": PROVENANCE,
    }


# --- previews -----------------------------------------------------------------------------------
def save_image_preview(module: torch.nn.Module, z_dim: int, path: Path, n: int = 64) -> None:
    """A fixed-noise 8x8 grid, so previews over training show the same 64 latents evolving."""
    z = torch.from_numpy(np.random.default_rng(PREVIEW_SEED).standard_normal((n, z_dim), dtype=np.float32))
    save_image_grid(module.eval()(z).numpy(), path)  # (n, 28, 28, 1) uint8


def save_reconstructions(originals: torch.Tensor, recon: torch.Tensor, path: Path) -> None:
    """Top half originals, bottom half their reconstructions (both [N, 1, 28, 28] in [-1, 1])."""
    both = torch.cat([originals, recon])
    images = ((both + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()  # (2N, 28, 28, 1)
    save_image_grid(np.ascontiguousarray(images), path)


# --- GAN ----------------------------------------------------------------------------------------
def build_gan(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    return GANProcess(
        dcgan.Generator(m["z_dim"], m["g_width"]), dcgan.Discriminator(m["d_width"]),
        modality="image", z_dim=m["z_dim"], sample_shape=IMAGE_SHAPE,
        lr_g=config["lr_g"], lr_d=config["lr_d"], head=ToUint8Image, preview_fn=save_image_preview,
    )


GAN = Recipe(
    "gan", build_gan,
    description="DCGAN-style generator (nearest upsampling + 3x3 convs, BatchNorm) trained against a spectrally "
                "normalised discriminator with the hinge loss, TTUR learning rates, Adam betas (0, 0.9); the "
                "exported weights are the EMA of the generator.",
    presets={
        "tiny": {"model": {"z_dim": 16, "g_width": 4, "d_width": 4}, "batch_size": 16,
                 "lr_g": 2e-4, "lr_d": 4e-4, "loop": LOOP_TINY, "eval_samples": 500},
        "cpu": {"model": {"z_dim": 64, "g_width": 32, "d_width": 32}, "batch_size": 64,
                "lr_g": 2e-4, "lr_d": 4e-4,
                "loop": {"steps": 6000, "ckpt_every": 250, "log_every": 10, "preview_every": 250,
                         "warmup_steps": 100, "ema_decay": 0.999}, "eval_samples": 10_000},
        "gpu": {"model": {"z_dim": 128, "g_width": 64, "d_width": 64}, "batch_size": 128,
                "lr_g": 2e-4, "lr_d": 4e-4,
                "loop": {"steps": 30_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 1000,
                         "warmup_steps": 500, "ema_decay": 0.9995}, "eval_samples": 10_000},
    })


# --- VAE ----------------------------------------------------------------------------------------
def build_vae(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    return VAEProcess(
        conv_vae.Encoder(m["z_dim"], m["width"]), conv_vae.Decoder(m["z_dim"], m["width"]),
        modality="image", z_dim=m["z_dim"], sample_shape=IMAGE_SHAPE,
        recon_nll=lambda x, out: discretized_logistic_nll(x, *out),
        export_head=lambda dec: ToUint8Image(conv_vae.DecoderMean(dec)),
        lr=config["lr"], kl_warmup_steps=config["kl_warmup_steps"], eval_data=data["test_tensor"] if data else None,
        preview_fn=save_image_preview, likelihood_unit="bits/dim",
        prior_components=config.get("prior_components", 0), prior_data=data["train_tensor"] if data else None,
    )


VAE = Recipe(
    "vae", build_vae,
    description="Convolutional VAE with a discretised-logistic pixel likelihood and a linear KL warm-up. After "
                "training, a Gaussian mixture is fitted to the training images' codes (the cpu preset: 50 "
                "components, full covariance) and the exported generator samples it, then decodes the mean "
                "image: noise from N(0, I) lands in the holes between the codes and decodes to grey blobs. The "
                "likelihood bound is taken against the fitted prior.",
    presets={
        "tiny": {"model": {"z_dim": 8, "width": 4}, "batch_size": 16, "lr": 1e-3, "kl_warmup_steps": 10,
                 "prior_components": 2, "loop": LOOP_TINY, "eval_samples": 500},
        # A full-covariance mixture fitted to the codes after training (the exported generator samples it),
        # and 14,000 steps where 10,000 took 17.6 of the 30 minutes. Components, refitted on the same trained
        # weights (resume, then export): 10 gave class KL 0.068 (FD 5.66), 30 gave 0.051 (FD 4.68), 50 gives
        # 0.045 (FD 4.37); picked by the class balance of the samples, which needs no test data.
        "cpu": {"model": {"z_dim": 32, "width": 32}, "batch_size": 64, "lr": 1e-3, "kl_warmup_steps": 2000,
                "prior_components": 50,
                "loop": {"steps": 14_000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                         "eval_every": 2000, "warmup_steps": 100}, "eval_samples": 10_000},
        "gpu": {"model": {"z_dim": 64, "width": 64}, "batch_size": 128, "lr": 1e-3, "kl_warmup_steps": 5000,
                "loop": {"steps": 40_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 1000,
                         "eval_every": 5000, "warmup_steps": 500}, "eval_samples": 10_000},
    })


def labelled_stages(build: Any) -> Any:
    """Stages of one process built by ``build(config, data)`` over (image, label) batches."""

    def stages(config: dict[str, Any], data: dict[str, Any], device: str) -> Iterator[Stage]:
        seed = config["loop"].get("seed", 0)
        images = random_batches(data["train_tensor"], config["batch_size"], seed, device)
        labels = random_batches(data["train_labels"], config["batch_size"], seed, device)  # same seed: same rows
        yield "", build(config, data), lambda step: (images(step), labels(step)), config["loop"]

    return stages


def labelled_example(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A random (image [n, 1, 28, 28], label [n]) batch shaped like the labelled training data."""
    return torch.rand(n, 1, 28, 28) * 2 - 1, torch.randint(0, 10, (n,))


# --- GAN that steers: a class, a region to complete, or nothing -------------------------------------------
def presets_that_steer(family: Recipe, cpu_steps: int, **settings: Any) -> dict[str, dict[str, Any]]:
    """The family's presets with the steering ``settings`` added. The cpu preset trains ``cpu_steps``: a
    steering step costs more than a plain one, and the run must stay under 30 minutes."""
    presets = {name: {**copy.deepcopy(preset), **settings} for name, preset in family.presets.items()}
    presets["cpu"]["loop"]["steps"] = cpu_steps
    return presets


def build_steered_gan(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.families.cgan import ConditionalGANProcess
    from studio.image.data import CLASS_NAMES
    from studio.image.masks import training_masks
    from studio.image.networks import cgan
    from studio.image.steer import SteeredGANImage, save_steering_preview

    m, classes = config["model"], len(CLASS_NAMES)
    return ConditionalGANProcess(
        cgan.Generator(m["z_dim"], m["g_width"], classes), cgan.Discriminator(m["d_width"], classes),
        classes=CLASS_NAMES, masks=training_masks, export_head=SteeredGANImage, example=labelled_example,
        label_drop=config["label_drop"], mode_seeking=config.get("mode_seeking", 0.0), modality="image",
        z_dim=m["z_dim"], sample_shape=IMAGE_SHAPE,
        lr_g=config["lr_g"], lr_d=config["lr_d"], preview_fn=save_steering_preview,
        calibration_data=(data["train_tensor"], data["train_labels"]) if data else None,
        eval_data=(data["test_tensor"], data["test_labels"]) if data else None,
    )


STEERED_GAN = Recipe(
    "gan", build_steered_gan, stages=labelled_stages(build_steered_gan), variant="steer",
    description="The DCGAN-style generator and spectrally normalised discriminator of image-gan, made to steer: "
                "the generator reads a class (joined to the noise) and the visible pixels (through a small "
                "convolutional encoder feeding every scale) and copies the given pixels through; the "
                "discriminator judges the finished picture with its mask and scores the class by projection "
                "(Miyato & Koyama 2018). Each step keeps a region drawn from a family of shapes that includes "
                "none of the picture, and drops the class half of the time. Hinge loss, TTUR, EMA generator, and "
                "the mode-seeking term of Mao et al. (2019) so the noise keeps changing what is drawn.",
    presets=presets_that_steer(GAN, cpu_steps=4400, label_drop=0.5, mode_seeking=1.0),  # a step: +1/3
)


# --- VAE that steers: a class, a region to complete, or nothing -------------------------------------------
def build_steered_vae(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.families.vaeac import VAEACProcess
    from studio.image.data import CLASS_NAMES
    from studio.image.masks import training_masks
    from studio.image.networks import vaeac
    from studio.image.steer import SteeredImageGenerator, save_steering_preview
    from studio.layers.likelihoods import discretized_logistic_log_prob

    m, classes = config["model"], len(CLASS_NAMES)
    return VAEACProcess(
        vaeac.ConditionNet(m["z_dim"], m["width"], classes), vaeac.ProposalNet(m["z_dim"], m["width"], classes),
        vaeac.Decoder(m["z_dim"], m["width"]),
        modality="image", z_dim=m["z_dim"], sample_shape=IMAGE_SHAPE, classes=CLASS_NAMES,
        log_prob=lambda x, out: discretized_logistic_log_prob(x, *out), masks=training_masks,
        export_head=SteeredImageGenerator, example=labelled_example, lr=config["lr"],
        kl_warmup_steps=config["kl_warmup_steps"], label_drop=config["label_drop"],
        prior_components=config["prior_components"], class_components=config["class_components"],
        eval_data=(data["test_tensor"], data["test_labels"]) if data else None,
        prior_data=(data["train_tensor"], data["train_labels"]) if data else None,
        preview_fn=save_steering_preview,
    )


STEERED_VAE = Recipe(
    "vae", build_steered_vae, stages=labelled_stages(build_steered_vae), variant="steer",
    description="A VAE with arbitrary conditioning (VAEAC, Ivanov et al. 2019) and a class label: a prior "
                "network reads what is given (a class, and/or visible pixels and where they are), a proposal "
                "network also reads the whole image, and a decoder with skip connections from the prior network "
                "gives a discretised-logistic distribution per pixel. Each step hides a region from a family of "
                "shapes that includes all of the picture, and drops the class half of the time; the bound is on "
                "the hidden pixels given the rest. Draws with nothing or only a class given come from Gaussian "
                "mixtures fitted to the training codes (50 components over all, 5 per class).",
    presets={
        "tiny": {"model": {"z_dim": 8, "width": 4}, "batch_size": 16, "lr": 1e-3, "kl_warmup_steps": 10,
                 "label_drop": 0.5, "prior_components": 2, "class_components": 1, "loop": LOOP_TINY,
                 "eval_samples": 500},
        "cpu": {"model": {"z_dim": 32, "width": 32}, "batch_size": 64, "lr": 1e-3, "kl_warmup_steps": 2000,
                "label_drop": 0.5, "prior_components": 50, "class_components": 5,
                "loop": {"steps": 8_000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                         "eval_every": 2000, "warmup_steps": 100}, "eval_samples": 10_000},
        "gpu": {"model": {"z_dim": 64, "width": 64}, "batch_size": 128, "lr": 1e-3, "kl_warmup_steps": 5000,
                "label_drop": 0.5, "prior_components": 50, "class_components": 10,
                "loop": {"steps": 40_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 1000,
                         "eval_every": 5000, "warmup_steps": 500}, "eval_samples": 10_000},
    })


# --- flow ---------------------------------------------------------------------------------------
def build_flow(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    deq = PixelDequantization((1, 28, 28))
    return FlowProcess(
        Glow(deq.shape(), levels=m["levels"], steps=m["steps"], hidden=m["hidden"],
             logit_alpha=m.get("logit_alpha", 0.0)),
        modality="image", sample_shape=IMAGE_SHAPE, lr=config["lr"], dequantization=deq,
        eval_data=data["test_tensor"] if data else None, preview_fn=save_image_preview,
    )


FLOW = Recipe(
    "flow", build_flow,
    description="Multi-scale Glow-style flow (2 levels of ActNorm, invertible 1x1 conv and affine coupling "
                "steps, learned conditional priors on the factored-out halves) trained by exact maximum "
                "likelihood on uniformly dequantized pixels, seen through Real NVP's logit preprocessing "
                "(alpha 1e-6, as MAF used on MNIST). The exported generator is the inverse (noise -> image); "
                "scale the noise by T to sample at temperature T.",
    presets={
        "tiny": {"model": {"levels": 2, "steps": 1, "hidden": 8, "logit_alpha": 1e-6}, "batch_size": 16, "lr": 1e-3,
                 "loop": LOOP_TINY, "eval_samples": 500},
        # Logit preprocessing at alpha 1e-6: 3.50 bits/dim after 1,000-step trials, against 4.39 without it and 3.92
        # at alpha 0.05 (Real NVP's CIFAR value): Fashion-MNIST's black and white cells need the stretch. 11,000
        # steps, not 12,000: the logit layer costs a little, and the run must stay under 30 minutes.
        "cpu": {"model": {"levels": 2, "steps": 8, "hidden": 64, "logit_alpha": 1e-6}, "batch_size": 64, "lr": 1e-3,
                "loop": {"steps": 11_000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                         "eval_every": 2000, "warmup_steps": 200, "grad_clip": 50.0}, "eval_samples": 10_000},
        "gpu": {"model": {"levels": 2, "steps": 16, "hidden": 256, "logit_alpha": 1e-6}, "batch_size": 128,
                "lr": 5e-4,
                "loop": {"steps": 60_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 1000, "grad_clip": 50.0}, "eval_samples": 10_000},
    })


# --- flow that steers: a class, a region to complete, or nothing -------------------------------------------
def build_steered_flow(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.families.cflow import ConditionalFlowProcess
    from studio.image.data import CLASS_NAMES
    from studio.image.masks import PRESETS, preset_mask, training_masks
    from studio.image.steer import SteeredFlowImage, save_steering_preview
    from studio.layers.conditional_glow import ConditionalGlow

    m = config["model"]
    deq = PixelDequantization((1, 28, 28))
    regions = {name: torch.from_numpy(preset_mask(name)).permute(2, 0, 1)[None].float() for name in PRESETS}
    return ConditionalFlowProcess(
        ConditionalGlow(deq.shape(), levels=m["levels"], steps=m["steps"], hidden=m["hidden"],
                        logit_alpha=m["logit_alpha"], classes=len(CLASS_NAMES)),
        classes=CLASS_NAMES, masks=training_masks, export_head=SteeredFlowImage, example=labelled_example,
        label_drop=config["label_drop"], completion_regions=regions,
        modality="image", sample_shape=IMAGE_SHAPE, lr=config["lr"], dequantization=deq,
        eval_data=(data["test_tensor"], data["test_labels"]) if data else None, preview_fn=save_steering_preview,
    )


STEERED_FLOW = Recipe(
    "flow", build_steered_flow, stages=labelled_stages(build_steered_flow), variant="steer",
    description="image-flow's multi-scale Glow made to steer: every coupling network and every prior also reads "
                "the visible region (its mask and pixels, squeezed to the level's size) and the class, and the "
                "top prior has a mean and scale per class (Glow's class-conditional prior). Each step keeps a "
                "region drawn from a family of shapes that includes none of the picture, and drops the class "
                "30% of the time; the given pixels are replaced by noise the flow learns nothing from, so the "
                "likelihood is that of the hidden pixels. With nothing given the served generator first picks a "
                "class uniformly, then draws from that class's prior.",
    presets=presets_that_steer(FLOW, cpu_steps=9500, label_drop=0.3),  # every coupling reads the region
)


# --- Transformer: a VQ-VAE, then a GPT-2 prior over its codes -------------------------------------
def build_vqvae(config: dict[str, Any], data: dict[str, Any] | None = None) -> VQVAEProcess:
    m = config["vqvae"]["model"]
    return VQVAEProcess(vqvae.VQVAE(m["codes"], m["dim"], m["width"]), modality="image", lr=config["vqvae"]["lr"],
                        eval_data=data["test_tensor"] if data else None, preview_fn=save_reconstructions)


def build_transformer(config: dict[str, Any], data: dict[str, Any] | None = None,
                      vq: VQVAEProcess | None = None) -> TransformerProcess:
    """A GPT prior over the VQ-VAE's 7x7 codes; ``vq`` is the trained first stage (random without one)."""
    m = config["model"]
    vq = vq or build_vqvae(config)
    codes = config["vqvae"]["model"]["codes"]
    gpt = build_gpt(vocab=codes + 1, seq_len=CODE_GRID, width=m["width"], layers=m["layers"], heads=m["heads"],
                    dropout=m.get("dropout", 0.1))
    return TransformerProcess(gpt, modality="image", seq_len=CODE_GRID, decoder=vqvae.CodesToImage(vq.vqvae),
                              sample_shape=IMAGE_SHAPE, lr=config["lr"],
                              eval_tokens=data.get("test_tokens") if data else None, preview_fn=save_image_grid,
                              likelihood_unit="bits/code token",
                              likelihood_note="the VQ-VAE's code tokens of the test images (not pixels)")


def transformer_stages(config: dict[str, Any], data: dict[str, Any], device: str) -> Iterator[Stage]:
    """A VQ-VAE, then a prior over its codes; the prior is built only after the VQ-VAE has trained."""
    seed = config["loop"].get("seed", 0)
    vq = build_vqvae(config, data)
    yield "vqvae", vq, random_batches(data["train_tensor"], config["vqvae"]["batch_size"], seed, device), \
        config["vqvae"]["loop"]
    vq.cpu()
    data["train_tokens"] = vq.encode_all(data["train_tensor"])  # (60000, 49) int64
    data["test_tokens"] = vq.encode_all(data["test_tensor"])  # (10000, 49)
    process = build_transformer(config, data, vq)
    yield "prior", process, random_batches(data["train_tokens"], config["batch_size"], seed, device), config["loop"]


TRANSFORMER = Recipe(
    "transformer", build_transformer, stages=transformer_stages,
    description="Two stages: a VQ-VAE turns each image into a 7x7 grid of codes (128 symbols), then a GPT-2 "
                "built by `transformers` from a config learns the code sequences. Codes rather than pixels: 49 "
                "tokens instead of 784 make training and sampling fast enough for a 2-core CPU, and the prior "
                "spends its capacity on shapes, not pixel noise. The exported step graph carries an explicit KV "
                "cache; decoder.onnx turns codes into pixels.",
    presets={
        "tiny": {"vqvae": {"model": {"codes": 16, "dim": 8, "width": 8}, "batch_size": 16, "lr": 1e-3,
                           "loop": LOOP_TINY},
                 "model": {"width": 16, "layers": 1, "heads": 2}, "batch_size": 16, "lr": 1e-3,
                 "loop": LOOP_TINY, "eval_samples": 500},
        "cpu": {"vqvae": {"model": {"codes": 128, "dim": 32, "width": 64}, "batch_size": 64, "lr": 1e-3,
                          "loop": {"steps": 3000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                                   "eval_every": 1000, "warmup_steps": 100}},
                "model": {"width": 128, "layers": 4, "heads": 4, "dropout": 0.1}, "batch_size": 64, "lr": 1e-3,
                "loop": {"steps": 5500, "ckpt_every": 500, "log_every": 10, "preview_every": 1000,
                         "eval_every": 2000, "warmup_steps": 200}, "eval_samples": 10_000},
        "gpu": {"vqvae": {"model": {"codes": 256, "dim": 64, "width": 128}, "batch_size": 128, "lr": 1e-3,
                          "loop": {"steps": 20_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 2000,
                                   "eval_every": 5000, "warmup_steps": 500}},
                "model": {"width": 256, "layers": 8, "heads": 8, "dropout": 0.1}, "batch_size": 128, "lr": 5e-4,
                "loop": {"steps": 40_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 4000,
                         "eval_every": 5000, "warmup_steps": 1000}, "eval_samples": 10_000},
    })

# --- Transformer that steers: masked parallel decoding over the VQ-VAE's codes --------------------------
def build_steered_transformer(config: dict[str, Any], data: dict[str, Any] | None = None,
                              vq: VQVAEProcess | None = None) -> GenerativeProcess:
    """A masked-token Transformer over the VQ-VAE's codes; ``vq`` is the trained first stage (random without)."""
    from studio.families.maskgit import MaskedTokenProcess
    from studio.image.data import CLASS_NAMES
    from studio.image.masks import training_masks
    from studio.image.steer import SteeredCodesImage, save_steering_preview
    from studio.layers.bidirectional import MaskedTokenTransformer

    m = config["model"]
    vqvae_net = (vq or build_vqvae(config)).vqvae
    net = MaskedTokenTransformer(config["vqvae"]["model"]["codes"], CODE_GRID, len(CLASS_NAMES), width=m["width"],
                                 layers=m["layers"], heads=m["heads"], dropout=m.get("dropout", 0.1))
    return MaskedTokenProcess(
        net, first_stage=vqvae_net, region_codes=lambda x, given: vqvae.region_codes(vqvae_net, x, given),
        modality="image", sample_shape=IMAGE_SHAPE, classes=CLASS_NAMES, masks=training_masks,
        export_head=SteeredCodesImage, example=labelled_example, rounds=config["rounds"],
        choice_temperature=config["choice_temperature"], lr=config["lr"],
        label_drop=config["label_drop"], eval_data=(data["test_tensor"], data["test_labels"]) if data else None,
        preview_fn=save_steering_preview)


def steered_transformer_stages(config: dict[str, Any], data: dict[str, Any], device: str) -> Iterator[Stage]:
    """image-transformer's VQ-VAE, then the masked-token Transformer over (image, label) batches."""
    seed = config["loop"].get("seed", 0)
    vq = build_vqvae(config, data)
    yield "vqvae", vq, random_batches(data["train_tensor"], config["vqvae"]["batch_size"], seed, device), \
        config["vqvae"]["loop"]
    vq.cpu()
    yield from labelled_stages(lambda c, d: build_steered_transformer(c, d, vq))(config, data, device)


def transformer_presets_that_steer(cpu_steps: int) -> dict[str, dict[str, Any]]:
    """image-transformer's presets with the steering settings; the cpu preset's second stage trains
    ``cpu_steps`` (each step also encodes its batch twice, whole and with the region blacked out)."""
    # choice_temperature: the Gumbel noise on each round's choice (MaskGIT's, annealed to zero). A one-off trial
    # on the trained weights (1,000 class draws): 0 gave class accuracy 0.88 with a within-class pixel spread of
    # 22 grey levels, 1.0 gave 0.857 and 31, 2.0 gave 0.821 and 34.
    presets = presets_that_steer(TRANSFORMER, cpu_steps, label_drop=0.3, rounds=10, choice_temperature=1.0)
    presets["tiny"]["rounds"] = 3
    return presets


STEERED_TRANSFORMER = Recipe(
    "transformer", build_steered_transformer, stages=steered_transformer_stages, variant="steer",
    description="image-transformer's VQ-VAE (7x7 codes), then a bidirectional Transformer over the codes with a "
                "class token, trained as MaskGIT (Chang et al. 2022): each step hides a region drawn from a "
                "family of shapes that includes the whole picture (the given codes are read from the picture with "
                "the region blacked out), shows a cosine-scheduled share of the hidden codes again, and drops the "
                "class 30% of the time; the loss is the cross-entropy of the codes still hidden. The served "
                "generator is one graph: it decides the unknown codes in 10 rounds, keeping the most confident "
                "each round (with Gumbel noise on the choice, annealed to zero, so seeds differ), then decodes "
                "them. With nothing given it first picks a class uniformly.",
    presets=transformer_presets_that_steer(cpu_steps=6500),
)

RECIPES = {r.name: r for r in (GAN, STEERED_GAN, VAE, STEERED_VAE, FLOW, STEERED_FLOW, TRANSFORMER,
                                    STEERED_TRANSFORMER)}
