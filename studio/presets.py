"""Presets: ``tiny`` (tests, seconds), ``cpu`` (a 2-core laptop, under 30 min), ``gpu`` (a real card).

A config is a plain dict, saved as config.json beside every exported generator, from which
the PyTorch generator can be rebuilt (scripts/bench.py does).
"""

from __future__ import annotations

import copy
from typing import Any

PRESET_NAMES = ("tiny", "cpu", "gpu")

_LOOP_TINY = {"steps": 30, "ckpt_every": 10, "log_every": 1, "preview_every": 10, "warmup_steps": 5}

PRESETS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("gan", "image"): {
        "tiny": {"model": {"z_dim": 16, "g_width": 4, "d_width": 4}, "batch_size": 16,
                 "lr_g": 2e-4, "lr_d": 4e-4, "loop": _LOOP_TINY, "eval_samples": 500},
        "cpu": {"model": {"z_dim": 64, "g_width": 32, "d_width": 32}, "batch_size": 64,
                "lr_g": 2e-4, "lr_d": 4e-4,
                "loop": {"steps": 6000, "ckpt_every": 250, "log_every": 10, "preview_every": 250,
                         "warmup_steps": 100, "ema_decay": 0.999}, "eval_samples": 10_000},
        "gpu": {"model": {"z_dim": 128, "g_width": 64, "d_width": 64}, "batch_size": 128,
                "lr_g": 2e-4, "lr_d": 4e-4,
                "loop": {"steps": 30_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 1000,
                         "warmup_steps": 500, "ema_decay": 0.9995}, "eval_samples": 10_000},
    },
    ("vae", "image"): {
        "tiny": {"model": {"z_dim": 8, "width": 4}, "batch_size": 16, "lr": 1e-3, "kl_warmup_steps": 10,
                 "loop": _LOOP_TINY, "eval_samples": 500},
        "cpu": {"model": {"z_dim": 32, "width": 32}, "batch_size": 64, "lr": 1e-3, "kl_warmup_steps": 2000,
                "loop": {"steps": 10000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                         "eval_every": 2000, "warmup_steps": 100}, "eval_samples": 10_000},
        "gpu": {"model": {"z_dim": 64, "width": 64}, "batch_size": 128, "lr": 1e-3, "kl_warmup_steps": 5000,
                "loop": {"steps": 40_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 1000,
                         "eval_every": 5000, "warmup_steps": 500}, "eval_samples": 10_000},
    },
    ("flow", "image"): {
        "tiny": {"model": {"levels": 2, "steps": 1, "hidden": 8}, "batch_size": 16, "lr": 1e-3,
                 "loop": _LOOP_TINY, "eval_samples": 500},
        "cpu": {"model": {"levels": 2, "steps": 8, "hidden": 64}, "batch_size": 64, "lr": 1e-3,
                "loop": {"steps": 12_000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                         "eval_every": 2000, "warmup_steps": 200, "grad_clip": 50.0}, "eval_samples": 10_000},
        "gpu": {"model": {"levels": 2, "steps": 16, "hidden": 256}, "batch_size": 128, "lr": 5e-4,
                "loop": {"steps": 60_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 1000, "grad_clip": 50.0}, "eval_samples": 10_000},
    },
    ("transformer", "image"): {
        "tiny": {"vqvae": {"model": {"codes": 16, "dim": 8, "width": 8}, "batch_size": 16, "lr": 1e-3,
                           "loop": _LOOP_TINY},
                 "model": {"width": 16, "layers": 1, "heads": 2}, "batch_size": 16, "lr": 1e-3,
                 "loop": _LOOP_TINY, "eval_samples": 500},
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
    },
    ("transformer", "text"): {
        "tiny": {"model": {"width": 16, "layers": 1, "heads": 2}, "context": 32, "batch_size": 8, "lr": 1e-3,
                 "loop": _LOOP_TINY, "eval_samples": 300},
        # nanoGPT's CPU "baby GPT" (4x128, context 64) reports 1.88 nats/char on tiny Shakespeare; 4x256 with a
        # 128-character context reached 1.52 on the held-out plays here, but its 12.5 MiB file is over the 10 MiB
        # a Space takes without LFS: 4x224 (2.47M parameters, 9.4 MiB) with a few more steps instead.
        "cpu": {"model": {"width": 224, "layers": 4, "heads": 4, "dropout": 0.0}, "context": 128, "batch_size": 32,
                "lr": 1e-3,
                "loop": {"steps": 2200, "ckpt_every": 100, "log_every": 10, "preview_every": 250,
                         "eval_every": 500, "warmup_steps": 100}, "eval_samples": 5_000},
        "gpu": {"model": {"width": 384, "layers": 6, "heads": 6, "dropout": 0.2}, "context": 256, "batch_size": 64,
                "lr": 1e-3,
                "loop": {"steps": 5000, "ckpt_every": 500, "log_every": 20, "preview_every": 500,
                         "eval_every": 500, "warmup_steps": 200}, "eval_samples": 5_000},
    },
    ("vae", "text"): {
        "tiny": {"model": {"z_dim": 8, "hidden": 16, "word_dropout": 0.3}, "batch_size": 8, "lr": 1e-3,
                 "kl_warmup_steps": 10, "free_bits": 0.1, "loop": _LOOP_TINY, "eval_samples": 300},
        # KL warm-up, free bits and word dropout keep the decoder reading z. With 0.25 nats per unit and 30%
        # dropout the run sat at the KL floor and greedy lines from the prior all read alike (distinct-2 0.05):
        # 1 nat per unit (32 in all) and 60% dropout make z carry the line.
        "cpu": {"model": {"z_dim": 32, "hidden": 256, "word_dropout": 0.6}, "batch_size": 64, "lr": 1e-3,
                "kl_warmup_steps": 1000, "free_bits": 1.0,
                "loop": {"steps": 4000, "ckpt_every": 250, "log_every": 10, "preview_every": 500,
                         "eval_every": 1000, "warmup_steps": 100}, "eval_samples": 5_000},
        "gpu": {"model": {"z_dim": 64, "hidden": 512, "word_dropout": 0.4}, "batch_size": 128, "lr": 1e-3,
                "kl_warmup_steps": 10_000, "free_bits": 0.25,
                "loop": {"steps": 40_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 500}, "eval_samples": 5_000},
    },
    ("gan", "text"): {
        "tiny": {"model": {"z_dim": 16, "width": 8, "blocks": 1}, "batch_size": 8, "lr_g": 1e-4, "lr_d": 1e-4,
                 "critic_steps": 2, "loop": {**_LOOP_TINY, "divergence_factor": 1000.0}, "eval_samples": 300},
        # WGAN-GP as in Gulrajani et al. 2017: Adam(1e-4, 0.5, 0.9), 5 critic steps per generator step, lambda 10.
        # The critic's loss is a distance estimate, not a bounded loss, hence the wide divergence guard.
        "cpu": {"model": {"z_dim": 128, "width": 96, "blocks": 3}, "batch_size": 32, "lr_g": 1e-4, "lr_d": 1e-4,
                "critic_steps": 5,
                "loop": {"steps": 5000, "ckpt_every": 500, "log_every": 10, "preview_every": 1000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 5_000},
        "gpu": {"model": {"z_dim": 128, "width": 512, "blocks": 5}, "batch_size": 64, "lr_g": 1e-4, "lr_d": 1e-4,
                "critic_steps": 10,
                "loop": {"steps": 200_000, "ckpt_every": 5000, "log_every": 50, "preview_every": 5000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 5_000},
    },
    ("flow", "text"): {
        "tiny": {"model": {"levels": 2, "steps": 1, "hidden": 8}, "batch_size": 8, "lr": 1e-3,
                 "loop": _LOOP_TINY, "eval_samples": 300},
        "cpu": {"model": {"levels": 2, "steps": 6, "hidden": 96}, "batch_size": 64, "lr": 1e-3,
                "loop": {"steps": 5000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                         "eval_every": 2000, "warmup_steps": 200, "grad_clip": 50.0}, "eval_samples": 5_000},
        "gpu": {"model": {"levels": 2, "steps": 16, "hidden": 256}, "batch_size": 128, "lr": 5e-4,
                "loop": {"steps": 60_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 1000, "grad_clip": 50.0}, "eval_samples": 5_000},
    },
    # Music: 4-bar Bach fragments (64 steps x 4 voices). The cpu presets' minutes are estimates: a few timed
    # steps at 1 thread (OMP_NUM_THREADS=1, beside another training run), halved for a 2-core laptop.
    ("transformer", "music"): {
        "tiny": {"model": {"width": 16, "layers": 1, "heads": 2}, "batch_size": 8, "lr": 1e-3,
                 "loop": _LOOP_TINY, "eval_samples": 64},
        # 1.55 s/step at 1 thread (batch 32 x 256 tokens, 0.83M parameters): 1500 steps ~ 39 min, ~19 min on 2
        # cores; 12M tokens, about two passes over the transposed training fragments. (4x192 was 2.2 s/step.)
        "cpu": {"model": {"width": 128, "layers": 4, "heads": 4, "dropout": 0.1}, "batch_size": 32, "lr": 1e-3,
                "loop": {"steps": 1500, "ckpt_every": 100, "log_every": 10, "preview_every": 250,
                         "eval_every": 500, "warmup_steps": 100}, "eval_samples": 2000},
        "gpu": {"model": {"width": 384, "layers": 8, "heads": 8, "dropout": 0.1}, "batch_size": 128, "lr": 6e-4,
                "loop": {"steps": 20_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 2000, "warmup_steps": 500}, "eval_samples": 2000},
    },
    ("vae", "music"): {
        "tiny": {"model": {"z_dim": 8, "hidden": 16, "conductor": 16, "embed": 8, "word_dropout": 0.3},
                 "batch_size": 8, "lr": 1e-3, "kl_warmup_steps": 10, "free_bits": 0.1, "loop": _LOOP_TINY,
                 "eval_samples": 64},
        # MusicVAE's counters to posterior collapse: the hierarchical decoder, KL warm-up, free bits, word dropout.
        # 0.39 s/step at 1 thread (1.2M parameters): 5000 steps ~ 32 min, ~16 min on 2 cores; ~13 epochs.
        "cpu": {"model": {"z_dim": 64, "hidden": 256, "conductor": 128, "embed": 32, "word_dropout": 0.3},
                "batch_size": 64, "lr": 1e-3, "kl_warmup_steps": 2000, "free_bits": 0.25,
                "loop": {"steps": 5000, "ckpt_every": 250, "log_every": 10, "preview_every": 500,
                         "eval_every": 1000, "warmup_steps": 100}, "eval_samples": 2000},
        "gpu": {"model": {"z_dim": 128, "hidden": 512, "conductor": 256, "embed": 64, "word_dropout": 0.3},
                "batch_size": 256, "lr": 1e-3, "kl_warmup_steps": 10_000, "free_bits": 0.25,
                "loop": {"steps": 40_000, "ckpt_every": 1000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 500}, "eval_samples": 2000},
    },
    ("gan", "music"): {
        "tiny": {"model": {"z_dim": 16, "width": 8, "blocks": 1}, "batch_size": 8, "lr_g": 2e-4, "lr_d": 2e-4,
                 "critic_steps": 2, "loop": {**_LOOP_TINY, "divergence_factor": 1000.0}, "eval_samples": 64},
        # WGAN-GP (lambda 10, Adam betas 0.5/0.9) with 2 critic steps per generator step at 2e-4: in a 5000-step
        # comparison of this recipe on an H100, text's 5 critic steps at 1e-4 collapsed (FD 6.3, consonance 0.02,
        # 74% distinct) and 5 at 3e-4 reached FD 1.0; 2 at 2e-4 reached FD 0.59, consonance 0.19.
        # Time: 0.28 s/step at 1 thread with a generator step every 5th; every 2nd costs ~20% more (the GPU run's
        # ratio), ~0.34 s/step: 6500 steps ~ 37 min, ~18 min on 2 cores; 3250 generator steps.
        "cpu": {"model": {"z_dim": 128, "width": 128, "blocks": 1}, "batch_size": 32, "lr_g": 2e-4, "lr_d": 2e-4,
                "critic_steps": 2,
                "loop": {"steps": 6500, "ckpt_every": 500, "log_every": 10, "preview_every": 1000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 2000},
        "gpu": {"model": {"z_dim": 128, "width": 512, "blocks": 2}, "batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4,
                "critic_steps": 2,
                "loop": {"steps": 100_000, "ckpt_every": 5000, "log_every": 50, "preview_every": 5000,
                         "warmup_steps": 0, "ema_decay": 0.999, "grad_clip": 10.0, "divergence_factor": 1000.0,
                         "min_lr_fraction": 1.0}, "eval_samples": 2000},
    },
    ("flow", "music"): {
        "tiny": {"model": {"levels": 2, "steps": 1, "hidden": 8}, "batch_size": 8, "lr": 1e-3,
                 "loop": _LOOP_TINY, "eval_samples": 64},
        # 0.34 s/step at 1 thread (1.3M parameters): 5000 steps ~ 28 min, ~14 min on 2 cores; ~13 epochs.
        "cpu": {"model": {"levels": 2, "steps": 8, "hidden": 128}, "batch_size": 64, "lr": 1e-3,
                "loop": {"steps": 5000, "ckpt_every": 500, "log_every": 10, "preview_every": 500,
                         "eval_every": 2000, "warmup_steps": 200, "grad_clip": 50.0}, "eval_samples": 2000},
        "gpu": {"model": {"levels": 2, "steps": 16, "hidden": 256}, "batch_size": 128, "lr": 5e-4,
                "loop": {"steps": 60_000, "ckpt_every": 2000, "log_every": 20, "preview_every": 2000,
                         "eval_every": 5000, "warmup_steps": 1000, "grad_clip": 50.0}, "eval_samples": 2000},
    },
}


def available(family: str) -> list[str]:
    return sorted(m for f, m in PRESETS if f == family)


def resolve(family: str, modality: str, preset: str, steps: int | None = None) -> dict[str, Any]:
    """The full config for a family, modality and preset, with an optional step override."""
    if (family, modality) not in PRESETS:
        have = ", ".join(available(family)) or "none"
        raise SystemExit(f"error: {family} for --modality {modality} is not available yet "
                         f"(available modalities for {family}: {have})")
    if preset not in PRESET_NAMES:
        raise SystemExit(f"error: unknown preset {preset!r}; choose one of {', '.join(PRESET_NAMES)}")
    config = copy.deepcopy(PRESETS[(family, modality)][preset])
    if steps is not None:
        if steps < 1:
            raise SystemExit("error: --steps must be a positive integer")
        for loop in [config["loop"]] + [v["loop"] for v in config.values() if isinstance(v, dict) and "loop" in v]:
            loop["steps"] = steps
    config.update({"family": family, "modality": modality, "preset": preset, "id": f"{modality}-{family}"})
    return config
