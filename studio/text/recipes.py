"""Text recipes: Shakespeare as running text (the character GPT) and as fixed-length lines (GAN, VAE, flow)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.families.base import GenerativeProcess
from studio.families.flow import FlowProcess
from studio.families.gan import GANProcess
from studio.families.transformer import TransformerProcess
from studio.families.vae import VAEProcess
from studio.layers.gpt import build_gpt
from studio.layers.token_flow import TokenFlow
from studio.text.codec import decode, text_image
from studio.text.data import LINE_LENGTH, PROVENANCE, load_shakespeare
from studio.text.networks import gan as text_gan
from studio.text.networks import vae as text_vae
from studio.text.networks.flow import CharDequantization
from studio.training.recipe import LOOP_TINY, Recipe, Stage

PREVIEW_SEED = 0
#: The tiny presets' vocabulary, so tests build text models on a machine without the data set. A run with
#: data always takes the corpus' own charset (and records it in config.json).
TINY_CHARSET = "\n !',-.:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def load_data(data_dir: str | None) -> dict[str, Any]:
    corpus = load_shakespeare(data_dir)
    return {
        "corpus": corpus,
        "charset": corpus.vocab,
        "train_text": torch.from_numpy(corpus.train_ids.astype(np.int64)),  # (N_train,)
        "valid_text": torch.from_numpy(corpus.valid_ids.astype(np.int64)),  # (N_valid,)
        "train_tensor": torch.from_numpy(corpus.train_lines.astype(np.int64)),  # (M_train, LINE_LENGTH)
        "test_tensor": torch.from_numpy(corpus.valid_lines.astype(np.int64)),  # (M_valid, LINE_LENGTH)
        "dataset": "shakespeare",
        "provenance": PROVENANCE,
    }


def charset_of(config: dict[str, Any], data: dict[str, Any] | None) -> str:
    """The character vocabulary: the data's (then recorded in the config), else the config's own."""
    if data:
        config["charset"] = data["charset"]  # saved in config.json, so a rebuilt model needs no data
    if not config.get("charset"):
        raise ValueError("a text config needs a charset: train with the data set, or take it from config.json")
    return config["charset"]


def text_windows(text: torch.Tensor, length: int) -> torch.Tensor:
    """Consecutive non-overlapping windows of a running text: int64 [N // length, length]."""
    n = len(text) // length
    return text[: n * length].reshape(n, length)


def overlapping_windows(text: torch.Tensor, length: int, stride: int) -> torch.Tensor:
    """Windows of a running text starting every ``stride`` characters: int64 [N, length]. Scored from position
    ``length - stride`` on (window 0 from 0), each character is scored once with at least that much context."""
    starts = torch.arange(0, len(text) - length + 1, stride)
    return text[starts[:, None] + torch.arange(length)]  # (N, length)


def random_windows(text: torch.Tensor, length: int, batch_size: int, seed: int,
                   device: str | torch.device) -> Callable[[int], torch.Tensor]:
    """step -> [batch, length] windows at random offsets, seeded by the step so a resumed run replays them."""

    def batch(step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed * 7_919 + step)
        starts = torch.randint(len(text) - length, (batch_size,), generator=g)
        return text[starts[:, None] + torch.arange(length)].to(device)  # (B, length)

    return batch


def line_batch_example(charset: str) -> Callable[[int], torch.Tensor]:
    return lambda n: torch.randint(0, len(charset), (n, LINE_LENGTH))  # (N, T) character ids


# --- previews -----------------------------------------------------------------------------------
def save_text_preview(charset: str, lines: int = 12) -> Callable[[np.ndarray, Path], None]:
    """A writer of sample ids [N, T] as a PNG of text (previews and model cards show text as a picture)."""

    def write(ids: np.ndarray, path: Path) -> None:
        from PIL import Image

        from studio.atomic import atomic_write

        text = "\n".join(decode(row, charset).replace("\n", " | ") for row in ids[:lines])
        img = text_image(text.split("\n"), width_chars=max(48, min(100, ids.shape[1])))
        atomic_write(path, lambda tmp: Image.fromarray(img).save(tmp, format="PNG"))

    return write


def save_line_preview(charset: str) -> Callable[[torch.nn.Module, int, Path], None]:
    """Fixed-noise previews of a line model: the same 16 latents each time, so training shows them evolve."""
    write = save_text_preview(charset, lines=16)

    def preview(module: torch.nn.Module, z_dim: int, path: Path) -> None:
        z = torch.from_numpy(np.random.default_rng(PREVIEW_SEED).standard_normal((16, z_dim), dtype=np.float32))
        with torch.no_grad():
            write(module.eval()(z).numpy(), path)

    return preview


# --- Transformer: a character GPT over running text -------------------------------------------------
def build_transformer(config: dict[str, Any], data: dict[str, Any] | None = None) -> TransformerProcess:
    """A character GPT over windows of ``context`` characters (plus BOS at position 0)."""
    m = config["model"]
    charset = charset_of(config, data)
    context = config["context"]
    gpt = build_gpt(vocab=len(charset) + 1, seq_len=context, width=m["width"], layers=m["layers"],
                    heads=m["heads"], dropout=m.get("dropout", 0.0))
    eval_tokens = text_windows(data["valid_text"], context)[::8] if data else None  # a spread of every held-out play
    half = context // 2
    return TransformerProcess(gpt, modality="text", seq_len=context, decoder=None, sample_shape=(context,),
                              lr=config["lr"], eval_tokens=eval_tokens, preview_fn=save_text_preview(charset),
                              charset=charset, likelihood_unit="bits/char",
                              likelihood_note=f"every held-out character once, predicted from at least {half} "
                                              f"characters before it (windows of {context} overlapping by {half}; "
                                              f"the first {half} characters of the held-out text from fewer)")


def transformer_stages(config: dict[str, Any], data: dict[str, Any], device: str) -> Iterator[Stage]:
    """Random windows of the running training text; scored on every held-out character once."""
    seed = config["loop"].get("seed", 0)
    half = config["context"] // 2
    data["test_tokens"] = overlapping_windows(data["valid_text"], config["context"], stride=half)
    data["test_score_from"] = half
    process = build_transformer(config, data)
    yield "", process, random_windows(data["train_text"], config["context"], config["batch_size"], seed, device), \
        config["loop"]


TRANSFORMER = Recipe(
    "transformer", build_transformer, stages=transformer_stages,
    description="A character-level GPT-2 built by `transformers` from a config (nothing downloaded), trained on "
                "random windows of the training plays (64 characters on the cpu preset). The exported step graph "
                "carries an explicit KV cache; the app continues a prompt with temperature, top-k and top-p and "
                "streams the text. Its bits/char on the held-out plays is exact, each character predicted from at "
                "least half a window of the text before it.",
    presets={
        "tiny": {"model": {"width": 16, "layers": 1, "heads": 2, "dropout": 0.0}, "context": 32, "batch_size": 8,
                 "lr": 1e-3,
                 "loop": LOOP_TINY, "eval_samples": 300, "charset": TINY_CHARSET},
        # nanoGPT's CPU "baby GPT" recipe (4x128, 0.8M parameters, context 64, batch 12, AdamW 1e-3 with
        # warm-up and cosine decay to 1e-4): at this budget many small updates beat few large ones (the 4x224
        # model at context 128 got 2,200 updates in the same time and scored 1.52 nats/char).
        "cpu": {"model": {"width": 128, "layers": 4, "heads": 4, "dropout": 0.0}, "context": 64, "batch_size": 12,
                "lr": 1e-3,
                "loop": {"steps": 32_000, "ckpt_every": 3000, "log_every": 50, "preview_every": 5500,
                         "eval_every": 5500, "warmup_steps": 100}, "eval_samples": 5_000},
        "gpu": {"model": {"width": 384, "layers": 6, "heads": 6, "dropout": 0.2}, "context": 256, "batch_size": 64,
                "lr": 1e-3,
                "loop": {"steps": 5000, "ckpt_every": 500, "log_every": 20, "preview_every": 500,
                         "eval_every": 500, "warmup_steps": 200}, "eval_samples": 5_000},
    })


# --- VAE: a sentence VAE over lines ----------------------------------------------------------------
def build_vae(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m, charset = config["model"], charset_of(config, data)
    vocab = len(charset)
    return VAEProcess(
        text_vae.LineEncoder(vocab, m["z_dim"], m["hidden"]),
        text_vae.LineDecoder(vocab, m["z_dim"], m["hidden"], word_dropout=m["word_dropout"]),
        modality="text", z_dim=m["z_dim"], sample_shape=(LINE_LENGTH,), recon_nll=text_vae.line_nll,
        export_head=lambda dec: text_vae.SampledLines(dec, m["z_dim"], LINE_LENGTH), lr=config["lr"],
        kl_warmup_steps=config["kl_warmup_steps"], free_bits=config["free_bits"],
        eval_data=data["test_tensor"] if data else None, preview_fn=save_line_preview(charset),
        decoder_reads_x=True, encoder_head=text_vae.EncodeMean, likelihood_unit="bits/char",
        sampling_dims=LINE_LENGTH, charset=charset, batch_example=line_batch_example(charset),
        prior_components=config.get("prior_components", 0), prior_data=data["train_tensor"] if data else None,
    )


VAE = Recipe(
    "vae", build_vae,
    description="A sentence VAE over 48-character lines (Bowman et al. 2016): a bidirectional GRU encoder, a GRU "
                "decoder fed z at every step. Posterior collapse is countered by a linear KL warm-up, free bits "
                "(a KL floor per latent unit) and word dropout on the decoder's inputs. The exported generator "
                "draws each character from the decoder's distribution, one noise column per character (z = "
                "latent + 48 sampling columns); encoder.onnx maps a line to its posterior mean, for "
                "interpolation. Noise scaled by T samples at temperature T; zero noise writes each character the "
                "decoder finds likeliest (how interpolation decodes). Its bits/char is a bound (negative ELBO).",
    presets={
        "tiny": {"model": {"z_dim": 8, "hidden": 16, "word_dropout": 0.3}, "batch_size": 8, "lr": 1e-3,
                 "kl_warmup_steps": 10, "free_bits": 0.1, "prior_components": 1, "loop": LOOP_TINY,
                 "eval_samples": 300, "charset": TINY_CHARSET},
        # Free bits keep the decoder reading z (1 nat per unit: lines from the prior read alike below 0.25);
        # 35% word dropout (60% before) leaves the decoder strong enough to spell, and twice the steps.
        # Tried and dropped: 2 nats per unit, 40% word dropout and a Gaussian fitted to the codes
        # (prior_components 1) gave KL 56 nats a line but reconstruction only fell from 41 to 34 nats:
        # 0 of 8 interpolation endpoints, 49% real words, bound 2.71 bits/char (30.9 min).
        "cpu": {"model": {"z_dim": 32, "hidden": 256, "word_dropout": 0.35}, "batch_size": 64, "lr": 1e-3,
                "kl_warmup_steps": 2000, "free_bits": 0.75,
                "loop": {"steps": 8500, "ckpt_every": 500, "log_every": 10, "preview_every": 1000,
                         "eval_every": 2000, "warmup_steps": 100}, "eval_samples": 5_000},
        "gpu": {"model": {"z_dim": 64, "hidden": 512, "word_dropout": 0.4}, "batch_size": 128, "lr": 1e-3,
                "kl_warmup_steps": 10_000, "free_bits": 0.25,
                "loop": {"steps": 40_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 500}, "eval_samples": 5_000},
    })


# --- GAN: a WGAN-GP line GAN --------------------------------------------------------------------------
def build_gan(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m, charset = config["model"], charset_of(config, data)
    vocab = len(charset)
    return GANProcess(
        text_gan.LineGenerator(m["z_dim"], vocab, LINE_LENGTH, m["width"], m["blocks"],
                               straight_through=m.get("straight_through", False)),
        text_gan.LineCritic(vocab, LINE_LENGTH, m["width"], m["blocks"]),
        modality="text", z_dim=m["z_dim"], sample_shape=(LINE_LENGTH,), lr_g=config["lr_g"], lr_d=config["lr_d"],
        betas=(0.5, 0.9), head=text_gan.ArgmaxLines, preview_fn=save_line_preview(charset), objective="wgan-gp",
        g_every=config["critic_steps"], real_view=text_gan.OneHotLines(vocab), charset=charset,
        batch_example=line_batch_example(charset),
    )


GAN = Recipe(
    "gan", build_gan,
    description="A character-level line GAN after Gulrajani et al. 2017: WGAN-GP (gradient penalty 10, Adam "
                "betas 0.5/0.9) with 1-D residual convolutions, trained purely adversarially (no likelihood term). "
                "The critic reads one-hot real lines and, straight-through, the one-hot of each fake line's "
                "argmax, so it must judge what a line says, not how peaked its softmax is; the exported graph "
                "takes the argmax. Noise scaled by T samples at temperature T. A GAN has no likelihood.",
    presets={
        "tiny": {"model": {"z_dim": 16, "width": 8, "blocks": 1, "straight_through": True}, "batch_size": 8,
                 "lr_g": 1e-4, "lr_d": 1e-4,
                 "critic_steps": 2, "loop": {**LOOP_TINY, "divergence_factor": 1000.0}, "eval_samples": 300,
                 "charset": TINY_CHARSET},
        # The critic's loss is a distance estimate, not a bounded loss: hence the wide divergence guard.
        # Straight-through one-hot fakes, each generator update spent on what the line says rather than on how
        # peaked it is; one critic step per generator step (the critic's faster learning rate keeps it ahead):
        # 10,000 generator updates in the budget. Two critic steps per generator step (6,000 updates, 12,000
        # steps) gave 25% real words, 9.5% degenerate lines, ref. perplexity 126; one gives 28%, 7.4%, 109.
        # Tried and dropped: a GRU generator drawing each character by Gumbel-max, a length curriculum and
        # teacher helping (Press et al. 2017): 36% real words, 18% degenerate lines, ref. perplexity 1,718
        # after 11,000 steps (25.7 min); argmax feedback instead of draws fell into loops ("wow wow wow").
        "cpu": {"model": {"z_dim": 128, "width": 96, "blocks": 3, "straight_through": True}, "batch_size": 32,
                "lr_g": 1e-4, "lr_d": 3e-4, "critic_steps": 1,
                "loop": {"steps": 10_000, "ckpt_every": 1000, "log_every": 10, "preview_every": 2000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 5_000},
        "gpu": {"model": {"z_dim": 128, "width": 512, "blocks": 5}, "batch_size": 64, "lr_g": 1e-4, "lr_d": 1e-4,
                "critic_steps": 10,
                "loop": {"steps": 200_000, "ckpt_every": 5000, "log_every": 50, "preview_every": 5000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 5_000},
    })


# --- flow: an autoregressive flow over dequantized characters ----------------------------------------
def build_flow(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m, charset = config["model"], charset_of(config, data)
    return FlowProcess(
        TokenFlow(len(charset), hidden=m["hidden"], embed=m.get("embed", 64)),
        modality="text", sample_shape=(LINE_LENGTH,), lr=config["lr"],
        eval_data=data["test_tensor"] if data else None, preview_fn=save_line_preview(charset),
        dequantization=CharDequantization(LINE_LENGTH), charset=charset, batch_example=line_batch_example(charset),
    )


FLOW = Recipe(
    "flow", build_flow,
    description="An autoregressive flow over 48-character lines: each character is one dimension, dequantized "
                "uniformly on its unit cell (id + U[0,1)). Noise maps to each character through a piecewise-linear "
                "map whose pieces are the characters' cells, their widths set by a GRU reading the characters "
                "before it. The change of variables is exact and, with cells of volume 1, dequantization costs "
                "nothing: its bits/char is the NLL of the text itself. Noise scaled by T samples at temperature T "
                "(zero noise: the most likely line).",
    presets={
        "tiny": {"model": {"hidden": 16, "embed": 8}, "batch_size": 8, "lr": 1e-3,
                 "loop": LOOP_TINY, "eval_samples": 300, "charset": TINY_CHARSET},
        "cpu": {"model": {"hidden": 512, "embed": 64}, "batch_size": 64, "lr": 2e-3,
                "loop": {"steps": 8000, "ckpt_every": 1000, "log_every": 25, "preview_every": 3000,
                         "eval_every": 3000, "warmup_steps": 200}, "eval_samples": 5_000},
        "gpu": {"model": {"hidden": 1024, "embed": 128}, "batch_size": 128, "lr": 1e-3,
                "loop": {"steps": 60_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 1000}, "eval_samples": 5_000},
    })

RECIPES = {r.family: r for r in (GAN, VAE, FLOW, TRANSFORMER)}
