"""A recipe: how one family is trained on one modality (its builder, presets and description), and how a
config is resolved from it. Each modality's ``recipes.py`` holds one per family, each description beside
its builder.

Presets: ``tiny`` (tests, seconds), ``cpu`` (a 2-core laptop, under 30 minutes), ``gpu`` (a real card).
A config is a plain dict, saved as config.json beside every exported generator, from which the PyTorch
generator can be rebuilt (scripts/bench/bench.py does).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported when a batch source is made, so reading presets stays instant
    import torch

    from studio.families.base import GenerativeProcess

PRESET_NAMES = ("tiny", "cpu", "gpu")
#: The loop settings of every tiny preset: a few seconds, every code path (checkpoint, preview, eval) once.
LOOP_TINY = {"steps": 30, "ckpt_every": 10, "log_every": 1, "preview_every": 10, "warmup_steps": 5}

BatchFn = Callable[[int], Any]  # step -> batch (deterministic in the step, so a resumed run replays it)
#: (name, process, batches, loop config) of one training stage
Stage = tuple[str, "GenerativeProcess", BatchFn, dict[str, Any]]


@dataclass(frozen=True)
class Recipe:
    family: str
    #: (config, data or None) -> process; without data (benchmarks, tests) it builds random weights
    build: Callable[[dict[str, Any], dict[str, Any] | None], GenerativeProcess]
    presets: dict[str, dict[str, Any]]  # preset name -> config
    description: str  # for the model card
    #: (config, data, device) -> the stages in order; None: one stage over data["train_tensor"]
    stages: Callable[[dict[str, Any], dict[str, Any], str], Iterator[Stage]] | None = None
    #: "" for a family's main recipe; a name for a variant registered beside it (id <modality>-<family>-<variant>)
    variant: str = ""

    @property
    def name(self) -> str:
        """The recipe's key in its modality's RECIPES: the family, or family-variant."""
        return f"{self.family}-{self.variant}" if self.variant else self.family


def resolve(recipe: Recipe, modality: str, preset: str, steps: int | None = None) -> dict[str, Any]:
    """The full config for a recipe and preset, with an optional step override."""
    if preset not in PRESET_NAMES:
        raise SystemExit(f"error: unknown preset {preset!r}; choose one of {', '.join(PRESET_NAMES)}")
    config = copy.deepcopy(recipe.presets[preset])
    if steps is not None:
        if steps < 1:
            raise SystemExit("error: --steps must be a positive integer")
        for loop in [config["loop"]] + [v["loop"] for v in config.values() if isinstance(v, dict) and "loop" in v]:
            loop["steps"] = steps
    config.update({"family": recipe.family, "modality": modality, "preset": preset,
                   "id": f"{modality}-{recipe.name}"})
    if recipe.variant:
        config["variant"] = recipe.variant
    return config


def random_batches(train: torch.Tensor, batch_size: int, seed: int, device: str | torch.device) -> BatchFn:
    """step -> a batch drawn with a generator seeded by the step, so a resumed run sees the same data."""
    import torch

    def batch(step: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(seed * 7_919 + step)
        return train[torch.randint(len(train), (batch_size,), generator=g)].to(device)

    return batch


def stages(recipe: Recipe, config: dict[str, Any], data: dict[str, Any], device: str) -> Iterator[Stage]:
    """The training stages of a recipe, in order. The weights start from the loop's seed, so the same command
    starts from the same weights (and every process of a distributed run builds the same model)."""
    import torch

    torch.manual_seed(config["loop"].get("seed", 0))
    if recipe.stages is not None:
        yield from recipe.stages(config, data, device)
        return
    process = recipe.build(config, data)
    yield "", process, random_batches(data["train_tensor"], config["batch_size"], config["loop"].get("seed", 0),
                                      device), config["loop"]
