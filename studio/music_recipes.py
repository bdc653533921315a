"""Music recipes: Bach chorales as 4-bar SATB fragments (GAN, VAE, flow) and as interleaved voice tokens
(the Transformer), all on the 16th-note token grid of ``studio.data.music`` (int [64, 4], VOCAB 48).

Every family trains on the same fragments (bar-aligned windows of the training pieces in all 12
allowed transpositions) and is scored on the same held-out pieces, transposed the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import torch

from studio.data.music import FRAGMENT_BARS, FRAGMENT_STEPS, STEPS_PER_BAR, VOCAB, VOICES
from studio.families.base import GenerativeProcess
from studio.families.transformer import TransformerProcess, build_gpt
from studio.families.vae import VAEProcess

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
                    "grid rows are 16th-note steps, columns soprano, alto, tenor, bass (studio.data.music tokens)",
            "steps_per_bar": STEPS_PER_BAR, "pieces": pieces}


def load_music_data(data_dir: str | None) -> dict[str, Any]:
    """Fragments of the training and held-out chorales; ``data_dir`` is the chorale cache folder (optional)."""
    from studio.data.music import PROVENANCE, augment, fragments, load_chorales

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
    from studio.modalities.music import piano_roll_image

    grids = np.asarray(samples, dtype=np.int64).reshape(len(samples), -1, len(VOICES))[:PREVIEW_ROLLS]
    rolls = [piano_roll_image(g, width=640, row_px=3) for g in grids]
    picture = np.concatenate([np.pad(r, ((0, 6), (0, 0), (0, 0)), constant_values=255) for r in rolls])
    atomic_write(path, lambda tmp: Image.fromarray(picture).save(tmp, format="PNG"))


def save_fragment_preview(module: torch.nn.Module, z_dim: int, path: Path) -> None:
    """Fixed-noise previews of a one-shot model: the same latents each time, so training shows them evolve."""
    z = torch.from_numpy(np.random.default_rng(PREVIEW_SEED).standard_normal((PREVIEW_ROLLS, z_dim), dtype=np.float32))
    with torch.no_grad():  # on the CPU, like the export: ``module`` is a fresh copy, wherever training runs
        save_grid_preview(module.eval().cpu()(z).numpy(), path)


# --- held-out openings travel with the models that use them ---------------------------------------
class ExportsOpenings:
    """Mixin for a process: export() also writes the held-out openings beside the generator, as ``openings``.

    The app needs no data: the Transformer continues these openings, the VAE encodes them to interpolate.
    """

    openings: dict[str, Any] | None = None

    def export(self, entry_dir: Path) -> dict[str, Any]:
        from studio.atomic import atomic_write_json

        result = super().export(entry_dir)  # type: ignore[misc]
        if self.openings:
            path = entry_dir / OPENINGS_FILE
            atomic_write_json(path, self.openings)
            result["files"] = {**result.get("files", {}), "openings": path.name}
        return result


# --- the four families --------------------------------------------------------------------------
class MusicTransformerProcess(ExportsOpenings, TransformerProcess):
    pass


def build_music_transformer(config: dict[str, Any], data: dict[str, Any] | None = None) -> TransformerProcess:
    """A GPT-2 over interleaved voice tokens: S, A, T, B of each 16th step, 256 tokens per fragment (plus BOS)."""
    m = config["model"]
    gpt = build_gpt(vocab=VOCAB + 1, seq_len=TOKENS_PER_FRAGMENT, width=m["width"], layers=m["layers"],
                    heads=m["heads"], dropout=m.get("dropout", 0.0))
    process = MusicTransformerProcess(
        gpt, modality="music", seq_len=TOKENS_PER_FRAGMENT, decoder=None, sample_shape=SAMPLE_SHAPE, lr=config["lr"],
        eval_tokens=spread(data, "test_tokens", 500), preview_fn=save_grid_preview, token_unit="token",
        likelihood_kind="exact: the model's next-token probabilities over the held-out chorales' 4-bar fragments "
                        "(every allowed transposition), tokens interleaved S, A, T, B per 16th step")
    process.openings = data["openings"] if data else None
    return process


def music_transformer_stages(config: dict[str, Any], data: dict[str, Any],
                             device: str) -> Iterator[tuple[str, GenerativeProcess, Any, dict]]:
    from studio.recipes import random_batches

    seed = config["loop"].get("seed", 0)
    process = build_music_transformer(config, data)
    yield "", process, random_batches(data["train_tokens"], config["batch_size"], seed, device), config["loop"]


class MusicVAEProcess(ExportsOpenings, VAEProcess):
    pass


def build_music_vae(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.networks import music_vae

    m = config["model"]
    process = MusicVAEProcess(
        music_vae.FragmentEncoder(VOCAB, m["z_dim"], m["hidden"], m["embed"]),
        music_vae.HierarchicalDecoder(VOCAB, m["z_dim"], FRAGMENT_BARS, STEPS_PER_BAR, m["hidden"], m["conductor"],
                                      m["embed"], word_dropout=m["word_dropout"]),
        modality="music", z_dim=m["z_dim"], sample_shape=SAMPLE_SHAPE, recon_nll=music_vae.fragment_nll,
        export_head=lambda dec: music_vae.SampledFragments(dec, m["z_dim"]), lr=config["lr"], kl_warmup_steps=config["kl_warmup_steps"],
        free_bits=config["free_bits"], eval_data=spread(data, "test_tensor", 1000), preview_fn=save_fragment_preview,
        decoder_reads_x=True, encoder_head=music_vae.EncodeMean, unit="token",
        sampling_dims=FRAGMENT_STEPS * len(VOICES),
    )
    process.batch_example = fragment_batch_example
    process.openings = data["openings"] if data else None
    return process


def build_music_gan(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.families.gan import GANProcess
    from studio.networks import music_gan

    m = config["model"]
    process = GANProcess(
        music_gan.FragmentGenerator(m["z_dim"], VOCAB, FRAGMENT_STEPS, m["width"], m["blocks"], coarse=FRAGMENT_BARS),
        music_gan.FragmentCritic(VOCAB, FRAGMENT_STEPS, m["width"], m["blocks"], coarse=FRAGMENT_BARS),
        modality="music", z_dim=m["z_dim"], sample_shape=SAMPLE_SHAPE, lr_g=config["lr_g"], lr_d=config["lr_d"],
        betas=(0.5, 0.9), head=music_gan.ArgmaxGrid, preview_fn=save_fragment_preview, objective="wgan-gp",
        g_every=config["critic_steps"], real_view=music_gan.OneHotGrid(VOCAB),
    )
    process.batch_example = fragment_batch_example
    return process


def build_music_flow(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.families.flow import FlowProcess
    from studio.networks import glow
    from studio.networks.music_flow import PitchGridDequantization

    m = config["model"]
    deq = PitchGridDequantization(FRAGMENT_STEPS, len(VOICES))
    return FlowProcess(
        glow.Glow(deq.shape(), levels=m["levels"], steps=m["steps"], hidden=m["hidden"]),
        modality="music", sample_shape=SAMPLE_SHAPE, lr=config["lr"], eval_data=spread(data, "test_tensor", 1000),
        preview_fn=save_fragment_preview, dequantization=deq, batch_example=fragment_batch_example,
    )


BUILDERS: dict[tuple[str, str], Callable[..., GenerativeProcess]] = {
    ("transformer", "music"): build_music_transformer,
    ("vae", "music"): build_music_vae,
    ("gan", "music"): build_music_gan,
    ("flow", "music"): build_music_flow,
}
STAGED = {("transformer", "music"): music_transformer_stages}


def evaluate_music_file(onnx_path: Path, n_samples: int) -> dict[str, Any]:
    from studio.metrics.music_protocol import evaluate_generator

    return dict(evaluate_generator(onnx_path, n_samples=n_samples, device="cpu"))
