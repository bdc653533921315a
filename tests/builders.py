"""Tiny models of any recipe, built without data (the tiny presets carry everything they need)."""

from __future__ import annotations

from typing import Any

from studio.families.base import GenerativeProcess
from studio.modalities import ALL, BY_NAME
from studio.training.recipe import Recipe, random_batches, resolve  # noqa: F401 - random_batches re-exported

#: (family, modality) of every registered recipe
ALL_RECIPES = sorted((family, m.name) for m in ALL for family in m.recipes().RECIPES)


def recipe_of(family: str, modality: str) -> Recipe:
    return BY_NAME[modality].recipes().RECIPES[family]


def config_of(family: str, modality: str, preset: str = "tiny") -> dict[str, Any]:
    return resolve(recipe_of(family, modality), modality, preset)


def build_tiny(family: str, modality: str, seed: int = 0) -> GenerativeProcess:
    """The tiny preset's process, with random weights drawn for ``seed`` (the same weights on every call)."""
    import torch

    torch.manual_seed(seed)
    return recipe_of(family, modality).build(config_of(family, modality), None)
