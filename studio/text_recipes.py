"""Text recipes: Shakespeare as running text (the character GPT) and as fixed-length lines (GAN, VAE, flow)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from studio.families.base import GenerativeProcess
from studio.families.transformer import TransformerProcess, build_gpt

PREVIEW_SEED = 0


def load_text_data(data_dir: str | None) -> dict[str, Any]:
    from studio.data.text import PROVENANCE, load_shakespeare

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


def text_windows(text: torch.Tensor, length: int) -> torch.Tensor:
    """Consecutive non-overlapping windows of a running text: int64 [N // length, length]."""
    n = len(text) // length
    return text[: n * length].reshape(n, length)


def random_windows(text: torch.Tensor, length: int, batch_size: int, seed: int,
                   device: str | torch.device) -> Callable[[int], torch.Tensor]:
    """step -> [batch, length] windows at random offsets, seeded by the step so a resumed run replays them."""

    def batch(step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed * 7_919 + step)
        starts = torch.randint(len(text) - length, (batch_size,), generator=g)
        return text[starts[:, None] + torch.arange(length)].to(device)  # (B, length)

    return batch


def save_text_preview(charset: str, lines: int = 12) -> Callable[[np.ndarray, Path], None]:
    """A writer of sample ids [N, T] as a PNG of text (previews and model cards show text as a picture)."""

    def write(ids: np.ndarray, path: Path) -> None:
        from PIL import Image

        from studio.atomic import atomic_write
        from studio.modalities.text import decode, text_image

        text = "\n".join(decode(row, charset).replace("\n", " | ") for row in ids[:lines])
        img = text_image(text.split("\n"), width_chars=max(48, min(100, ids.shape[1])))
        atomic_write(path, lambda tmp: Image.fromarray(img).save(tmp, format="PNG"))

    return write


def build_text_transformer(config: dict[str, Any], data: dict[str, Any] | None = None) -> TransformerProcess:
    """A character GPT over windows of ``context`` characters (plus BOS at position 0)."""
    m = config["model"]
    charset = _charset(config, data)
    context = config["context"]
    gpt = build_gpt(vocab=len(charset) + 1, seq_len=context, width=m["width"], layers=m["layers"],
                    heads=m["heads"], dropout=m.get("dropout", 0.0))
    eval_tokens = text_windows(data["valid_text"], context)[::8] if data else None  # a spread of every held-out play
    return TransformerProcess(gpt, modality="text", seq_len=context, decoder=None, sample_shape=(context,),
                              lr=config["lr"], eval_tokens=eval_tokens, preview_fn=save_text_preview(charset),
                              charset=charset, token_unit="char",
                              likelihood_kind=f"exact: the model's next-character probabilities on the held-out "
                                              f"plays, in windows of {context} characters")


def text_transformer_stages(config: dict[str, Any], data: dict[str, Any], device: str):
    seed = config["loop"].get("seed", 0)
    data["test_tokens"] = text_windows(data["valid_text"], config["context"])  # every held-out character once
    process = build_text_transformer(config, data)
    yield "", process, random_windows(data["train_text"], config["context"], config["batch_size"], seed, device), \
        config["loop"]


def _charset(config: dict[str, Any], data: dict[str, Any] | None) -> str:
    """The character vocabulary: from the data, else from the config (saved beside every export), else the corpus."""
    from studio.data.text import load_shakespeare

    if data:
        config["charset"] = data["charset"]  # recorded in config.json, so a rebuilt model needs no data
    return config.get("charset") or load_shakespeare().vocab


def line_batch_example(charset: str) -> Callable[[int], torch.Tensor]:
    from studio.data.text import LINE_LENGTH

    return lambda n: torch.randint(0, len(charset), (n, LINE_LENGTH))  # (N, T) character ids


def save_line_preview(charset: str) -> Callable[[torch.nn.Module, int, Path], None]:
    """Fixed-noise previews of a line model: the same 16 latents each time, so training shows them evolve."""
    write = save_text_preview(charset, lines=16)

    def preview(module: torch.nn.Module, z_dim: int, path: Path) -> None:
        z = torch.from_numpy(np.random.default_rng(PREVIEW_SEED).standard_normal((16, z_dim), dtype=np.float32))
        with torch.no_grad():
            write(module.eval()(z).numpy(), path)

    return preview


def build_text_vae(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.data.text import LINE_LENGTH
    from studio.families.vae import VAEProcess
    from studio.networks import text_vae

    m, charset = config["model"], _charset(config, data)
    vocab = len(charset)
    process = VAEProcess(
        text_vae.LineEncoder(vocab, m["z_dim"], m["hidden"]),
        text_vae.LineDecoder(vocab, m["z_dim"], m["hidden"], word_dropout=m["word_dropout"]),
        modality="text", z_dim=m["z_dim"], sample_shape=(LINE_LENGTH,), recon_nll=text_vae.line_nll,
        export_head=lambda dec: text_vae.SampledLines(dec, m["z_dim"], LINE_LENGTH), lr=config["lr"],
        kl_warmup_steps=config["kl_warmup_steps"], free_bits=config["free_bits"],
        eval_data=data["test_tensor"] if data else None, preview_fn=save_line_preview(charset),
        decoder_reads_x=True, encoder_head=text_vae.EncodeMean, unit="char", sampling_dims=LINE_LENGTH,
    )
    process.charset = charset
    process.batch_example = line_batch_example(charset)
    return process


def build_text_gan(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.data.text import LINE_LENGTH
    from studio.families.gan import GANProcess
    from studio.networks import text_gan

    m, charset = config["model"], _charset(config, data)
    vocab = len(charset)
    process = GANProcess(
        text_gan.LineGenerator(m["z_dim"], vocab, LINE_LENGTH, m["width"], m["blocks"]),
        text_gan.LineCritic(vocab, LINE_LENGTH, m["width"], m["blocks"]),
        modality="text", z_dim=m["z_dim"], sample_shape=(LINE_LENGTH,), lr_g=config["lr_g"], lr_d=config["lr_d"],
        betas=(0.5, 0.9), head=text_gan.ArgmaxLines, preview_fn=save_line_preview(charset), objective="wgan-gp",
        g_every=config["critic_steps"], real_view=text_gan.OneHotLines(vocab),
    )
    process.charset = charset
    process.batch_example = line_batch_example(charset)
    return process


def build_text_flow(config: dict[str, Any], data: dict[str, Any] | None = None) -> GenerativeProcess:
    from studio.data.text import LINE_LENGTH, PAD
    from studio.families.flow import BinaryCharDequantization, FlowProcess
    from studio.networks import glow

    m, charset = config["model"], _charset(config, data)
    deq = BinaryCharDequantization(len(charset), LINE_LENGTH, grid=(4, 12), pad=charset.index(PAD))
    return FlowProcess(
        glow.Glow(deq.shape(), levels=m["levels"], steps=m["steps"], hidden=m["hidden"]),
        modality="text", sample_shape=(LINE_LENGTH,), lr=config["lr"],
        eval_data=data["test_tensor"] if data else None, preview_fn=save_line_preview(charset),
        dequantization=deq, charset=charset, batch_example=line_batch_example(charset),
    )


BUILDERS: dict[tuple[str, str], Callable[..., GenerativeProcess]] = {
    ("transformer", "text"): build_text_transformer,
    ("vae", "text"): build_text_vae,
    ("gan", "text"): build_text_gan,
    ("flow", "text"): build_text_flow,
}
STAGED = {("transformer", "text"): text_transformer_stages}
