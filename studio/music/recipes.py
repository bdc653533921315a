"""Music recipes: Bach chorales as 4-bar SATB fragments (GAN, VAE, flow) and as interleaved voice tokens
(the Transformer), all on the 16th-note token grid of ``studio.music.data`` (int [64, 4], VOCAB 48).

Every family trains on the same fragments (bar-aligned windows of the training pieces in all 12
allowed transpositions) and is scored on the same held-out pieces, transposed the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from studio.atomic import atomic_write_json
from studio.families.base import GenerativeProcess
from studio.families.flow import FlowProcess
from studio.families.gan import GANProcess
from studio.families.transformer import TransformerProcess
from studio.families.vae import VAEProcess
from studio.layers.gpt import build_gpt
from studio.layers.token_flow import TokenFlow
from studio.music.data import (
    FRAGMENT_BARS,
    FRAGMENT_STEPS,
    PROVENANCE,
    STEPS_PER_BAR,
    VOCAB,
    VOICES,
    augment,
    fragments,
    load_chorales,
)
from studio.music.harmony_stats import feature_matching_loss
from studio.music.networks import gan as music_gan
from studio.music.networks import vae as music_vae
from studio.music.networks.flow import GridTokenDequantization
from studio.training.recipe import LOOP_TINY, Recipe, Stage, random_batches

PREVIEW_SEED = 0
PREVIEW_ROLLS = 4  # fragments drawn in a preview picture
OPENINGS_FILE = "openings.json"
TOKENS_PER_FRAGMENT = FRAGMENT_STEPS * len(VOICES)  # 256: the Transformer's window
SAMPLE_SHAPE = (FRAGMENT_STEPS, len(VOICES))


# --- data ---------------------------------------------------------------------------------------
def heldout_openings(grids: list[np.ndarray], piece_ids: list[str]) -> dict[str, Any]:
    """The first FRAGMENT_BARS bars of every held-out piece in its own key: what the app continues or encodes."""
    pieces = [{"id": pid, "grid": grid[:FRAGMENT_STEPS].tolist()}
              for grid, pid in zip(grids, piece_ids) if len(grid) >= FRAGMENT_STEPS]
    return {"what": f"the first {FRAGMENT_BARS} bars of each held-out Bach chorale (never trained on), original key; "
                    "grid rows are 16th-note steps, columns soprano, alto, tenor, bass (studio.music.data tokens)",
            "steps_per_bar": STEPS_PER_BAR, "pieces": pieces}


def load_data(data_dir: str | None) -> dict[str, Any]:
    """Fragments of the training and held-out chorales; ``data_dir`` is the chorale cache folder (optional)."""
    splits = load_chorales(data_dir)
    valid = splits["valid"]
    train = torch.from_numpy(fragments(splits["train"].grids))  # (N_train, 64, 4), every transposition
    test = torch.from_numpy(fragments(augment(valid.grids, valid.piece_ids).grids))  # (N_test, 64, 4), likewise
    return {
        "train_tensor": train,
        "test_tensor": test,
        "train_tokens": train.reshape(len(train), -1),  # (N_train, 256) interleaved S, A, T, B per step
        "test_tokens": test.reshape(len(test), -1),  # (N_test, 256)
        "openings": heldout_openings(valid.grids, valid.piece_ids),
        "dataset": "bach-chorales",
        "provenance": PROVENANCE,
    }


def fragment_batch_example(n: int) -> torch.Tensor:
    return torch.randint(0, VOCAB, (n, *SAMPLE_SHAPE))  # (N, 64, 4) tokens


def spread(data: dict[str, Any] | None, key: str, count: int) -> torch.Tensor | None:
    """About ``count`` rows spread evenly over a held-out tensor (every piece and key), for quick evals in training."""
    if not data:
        return None
    rows = data[key]
    return rows[:: max(1, len(rows) // count)]


# --- previews -----------------------------------------------------------------------------------
def save_grid_preview(samples: np.ndarray, path: Path) -> None:
    """Piano rolls of the first PREVIEW_ROLLS samples (grids [N, T, 4] or interleaved tokens [N, 4T]), stacked."""
    from PIL import Image

    from studio.atomic import atomic_write
    from studio.music.render import piano_roll_image

    grids = np.asarray(samples, dtype=np.int64).reshape(len(samples), -1, len(VOICES))[:PREVIEW_ROLLS]
    rolls = [piano_roll_image(g, width=640, row_px=3) for g in grids]
    picture = np.concatenate([np.pad(r, ((0, 6), (0, 0), (0, 0)), constant_values=255) for r in rolls])
    atomic_write(path, lambda tmp: Image.fromarray(picture).save(tmp, format="PNG"))


def save_fragment_preview(module: torch.nn.Module, z_dim: int, path: Path) -> None:
    """Fixed-noise previews of a one-shot model: the same latents each time, so training shows them evolve."""
    z = torch.from_numpy(np.random.default_rng(PREVIEW_SEED).standard_normal((PREVIEW_ROLLS, z_dim), dtype=np.float32))
    with torch.no_grad():  # on the CPU, like the export: ``module`` is a fresh copy, wherever training runs
        save_grid_preview(module.eval().cpu()(z).numpy(), path)


class ExportsOpenings:
    """Mixin for a process: export() also writes the held-out openings beside the generator, as ``openings``.

    The app needs no data: the Transformer continues these openings, the VAE encodes them to interpolate.
    """

    openings: dict[str, Any] | None = None

    def export(self, entry_dir: Path) -> dict[str, Any]:
        result = super().export(entry_dir)  # type: ignore[misc]
        if self.openings:
            path = entry_dir / OPENINGS_FILE
            atomic_write_json(path, self.openings)
            result["files"] = {**result.get("files", {}), "openings": path.name}
        return result


# --- Transformer: a GPT-2 over interleaved voice tokens ---------------------------------------------
class MusicTransformerProcess(ExportsOpenings, TransformerProcess):
    pass


def build_transformer(config: dict[str, Any], data: dict[str, Any] | None = None) -> TransformerProcess:
    """A GPT-2 over interleaved voice tokens: S, A, T, B of each 16th step, 256 tokens per fragment (plus BOS)."""
    m = config["model"]
    gpt = build_gpt(vocab=VOCAB + 1, seq_len=TOKENS_PER_FRAGMENT, width=m["width"], layers=m["layers"],
                    heads=m["heads"], dropout=m.get("dropout", 0.0))
    process = MusicTransformerProcess(
        gpt, modality="music", seq_len=TOKENS_PER_FRAGMENT, decoder=None, sample_shape=SAMPLE_SHAPE, lr=config["lr"],
        eval_tokens=spread(data, "test_tokens", 500), preview_fn=save_grid_preview, likelihood_unit="bits/token",
        likelihood_note="the next-token probabilities over the held-out chorales' 4-bar fragments (every allowed "
                        "transposition), tokens interleaved S, A, T, B per 16th step")
    process.openings = data["openings"] if data else None
    return process


def transformer_stages(config: dict[str, Any], data: dict[str, Any], device: str) -> Iterator[Stage]:
    seed = config["loop"].get("seed", 0)
    process = build_transformer(config, data)
    yield "", process, random_batches(data["train_tokens"], config["batch_size"], seed, device), config["loop"]


TRANSFORMER = Recipe(
    "transformer", build_transformer, stages=transformer_stages,
    description="A GPT-2 built by `transformers` from a config over Bach's four voices interleaved (soprano, "
                "alto, tenor, bass of each 16th-note step in turn: 256 tokens per 4-bar fragment). The exported "
                "step graph carries an explicit KV cache; the app continues the opening bars of a held-out chorale "
                "(openings.json) and writes longer pieces bar by bar, restarting its window on a bar line. Its "
                "bits/token on the held-out chorales is exact.",
    presets={
        "tiny": {"model": {"width": 16, "layers": 1, "heads": 2}, "batch_size": 8, "lr": 1e-3,
                 "loop": LOOP_TINY, "eval_samples": 64},
        # 12M tokens in 1500 steps: about two passes over the transposed training fragments.
        "cpu": {"model": {"width": 128, "layers": 4, "heads": 4, "dropout": 0.1}, "batch_size": 32, "lr": 1e-3,
                "loop": {"steps": 1500, "ckpt_every": 100, "log_every": 10, "preview_every": 250,
                         "eval_every": 500, "warmup_steps": 100}, "eval_samples": 2000},
        "gpu": {"model": {"width": 384, "layers": 8, "heads": 8, "dropout": 0.1}, "batch_size": 128, "lr": 6e-4,
                "loop": {"steps": 20_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 2000, "warmup_steps": 500}, "eval_samples": 2000},
    })


# --- VAE: MusicVAE-style, a hierarchical decoder ----------------------------------------------------
class MusicVAEProcess(ExportsOpenings, VAEProcess):
    pass


def build_vae(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    process = MusicVAEProcess(
        music_vae.FragmentEncoder(VOCAB, m["z_dim"], m["hidden"], m["embed"]),
        music_vae.HierarchicalDecoder(VOCAB, m["z_dim"], FRAGMENT_BARS, STEPS_PER_BAR, m["hidden"], m["conductor"],
                                      m["embed"], word_dropout=m["word_dropout"]),
        modality="music", z_dim=m["z_dim"], sample_shape=SAMPLE_SHAPE, recon_nll=music_vae.fragment_nll,
        export_head=lambda dec: music_vae.SampledFragments(dec, m["z_dim"]), lr=config["lr"],
        kl_warmup_steps=config["kl_warmup_steps"], free_bits=config["free_bits"],
        eval_data=spread(data, "test_tensor", 1000), preview_fn=save_fragment_preview, decoder_reads_x=True,
        encoder_head=music_vae.EncodeMean, likelihood_unit="bits/token", sampling_dims=TOKENS_PER_FRAGMENT,
        batch_example=fragment_batch_example,
    )
    process.openings = data["openings"] if data else None
    return process


VAE = Recipe(
    "vae", build_vae,
    description="A MusicVAE-style VAE over 4-bar fragments (Roberts et al. 2018): a bidirectional GRU encoder; a "
                "hierarchical decoder (a conductor GRU gives one embedding per bar, a bar decoder GRU writes its 16 "
                "steps, restarting from the conductor every bar) that writes each step's voices top down, each "
                "voice hearing the ones above it. Posterior collapse is countered by that hierarchy, a linear KL "
                "warm-up, free bits and 30% dropout of the decoder's previous-step tokens. The exported generator "
                "draws each token from the decoder's distribution, one noise column per token (z = latent + 256 "
                "sampling columns); encoder.onnx maps a fragment to its posterior mean, for interpolation. Its "
                "bits/token is a bound (negative ELBO).",
    presets={
        "tiny": {"model": {"z_dim": 8, "hidden": 16, "conductor": 16, "embed": 8, "word_dropout": 0.3},
                 "batch_size": 8, "lr": 1e-3, "kl_warmup_steps": 10, "free_bits": 0.1, "loop": LOOP_TINY,
                 "eval_samples": 64},
        "cpu": {"model": {"z_dim": 64, "hidden": 256, "conductor": 128, "embed": 32, "word_dropout": 0.3},
                "batch_size": 64, "lr": 1e-3, "kl_warmup_steps": 2000, "free_bits": 0.25,
                "loop": {"steps": 5000, "ckpt_every": 250, "log_every": 10, "preview_every": 500,
                         "eval_every": 1900, "warmup_steps": 100}, "eval_samples": 2000},
        "gpu": {"model": {"z_dim": 128, "hidden": 512, "conductor": 256, "embed": 64, "word_dropout": 0.3},
                "batch_size": 256, "lr": 1e-3, "kl_warmup_steps": 10_000, "free_bits": 0.25,
                "loop": {"steps": 40_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 500}, "eval_samples": 2000},
    })


# --- GAN: a categorical WGAN-GP --------------------------------------------------------------------
def build_gan(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    return GANProcess(
        music_gan.FragmentGenerator(m["z_dim"], VOCAB, FRAGMENT_STEPS, m["width"], m["blocks"], coarse=FRAGMENT_BARS),
        music_gan.FragmentCritic(VOCAB, FRAGMENT_STEPS, m["width"], m["blocks"], coarse=FRAGMENT_BARS),
        modality="music", z_dim=m["z_dim"], sample_shape=SAMPLE_SHAPE, lr_g=config["lr_g"], lr_d=config["lr_d"],
        betas=(0.5, 0.9), head=music_gan.ArgmaxGrid, preview_fn=save_fragment_preview, objective="wgan-gp",
        g_every=config["critic_steps"], real_view=music_gan.OneHotGrid(VOCAB), batch_example=fragment_batch_example,
        feature_loss=functools.partial(feature_matching_loss, vocab=VOCAB),
        feature_weight=config.get("feature_weight", 0.0),
    )


GAN = Recipe(
    "gan", build_gan,
    description="A categorical GAN over 4-bar fragments: the generator grows z along time (bars, half bars, beats, "
                "eighths, 16ths; MuseGAN-like) into a softmax over the 48 tokens for each voice and step; a 1-D "
                "residual critic reads one-hot real and softmax fake fragments. WGAN-GP (penalty 10, 2 critic steps "
                "per generator step, Adam 2e-4, betas 0.5/0.9), plus feature matching: the generator also matches "
                "a real batch's pitch-class autocorrelation (tonality in any key) and the signed intervals between "
                "every two voices (consonance, crossings, spacing; studio/music/harmony_stats.py). The exported "
                "graph takes the argmax. A GAN has no likelihood.",
    presets={
        "tiny": {"model": {"z_dim": 16, "width": 8, "blocks": 1}, "batch_size": 8, "lr_g": 2e-4, "lr_d": 2e-4,
                 "critic_steps": 2, "feature_weight": 1.0, "loop": {**LOOP_TINY, "divergence_factor": 1000.0},
                 "eval_samples": 64},
        # 2 critic steps per generator step at 2e-4: on this data, 5 at 1e-4 (text's setting) collapsed. The
        # feature-matching weight: at 1 its gradient on the generator was about as large as a trained critic's
        # (10.9 against 11.7 on one batch); 2 lets the statistics lead.
        "cpu": {"model": {"z_dim": 128, "width": 128, "blocks": 1}, "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4,
                "critic_steps": 2, "feature_weight": 2.0,
                "loop": {"steps": 6500, "ckpt_every": 500, "log_every": 10, "preview_every": 1000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 2000},
        "gpu": {"model": {"z_dim": 128, "width": 512, "blocks": 2}, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4,
                "critic_steps": 2, "feature_weight": 2.0,
                "loop": {"steps": 100_000, "ckpt_every": 5000, "log_every": 50, "preview_every": 5000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 2000},
    })


# --- flow: an autoregressive flow over the tokens ---------------------------------------------------
def build_flow(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    m = config["model"]
    return FlowProcess(
        TokenFlow(VOCAB, hidden=m["hidden"], embed=m["embed"]),
        modality="music", sample_shape=SAMPLE_SHAPE, lr=config["lr"], eval_data=spread(data, "test_tensor", 1000),
        preview_fn=save_fragment_preview, dequantization=GridTokenDequantization(FRAGMENT_STEPS, len(VOICES)),
        batch_example=fragment_batch_example,
    )


FLOW = Recipe(
    "flow", build_flow,
    description="An autoregressive flow over 4-bar fragments: each of the 256 tokens (64 16th-note steps, soprano "
                "to bass within a step) is one dimension, dequantized uniformly on its unit cell (token + U[0,1)). "
                "Noise maps to each token through a piecewise-linear map whose pieces are the tokens' cells, their "
                "widths set by a GRU reading the tokens before it. The change of variables is exact and, with cells "
                "of volume 1, dequantization costs nothing: its bits/token is the NLL of the music itself. Noise "
                "scaled by T samples at temperature T.",
    presets={
        "tiny": {"model": {"hidden": 16, "embed": 8}, "batch_size": 8, "lr": 1e-3,
                 "loop": LOOP_TINY, "eval_samples": 64},
        "cpu": {"model": {"hidden": 384, "embed": 64}, "batch_size": 32, "lr": 2e-3,
                "loop": {"steps": 3800, "ckpt_every": 250, "log_every": 10, "preview_every": 1900,
                         "eval_every": 1900, "warmup_steps": 100}, "eval_samples": 2000},
        "gpu": {"model": {"hidden": 1024, "embed": 128}, "batch_size": 128, "lr": 1e-3,
                "loop": {"steps": 40_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 1000}, "eval_samples": 2000},
    })

RECIPES = {r.family: r for r in (GAN, VAE, FLOW, TRANSFORMER)}
