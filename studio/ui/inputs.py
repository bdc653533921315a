"""Checks on what users type: a plain gr.Error that says what to enter, never a traceback."""

from __future__ import annotations

import math

import gradio as gr
import numpy as np

from studio.onnx.contract import MAX_SEED  # noqa: F401 - the tabs read the limit from here
from studio.onnx.runtime import GeneratorUnavailable, latent_line
from studio.registry.serving import ModelRegistry, UnknownModel


def parse_whole_number(value: object, name: str, low: int, high: int) -> int:
    """A whole number in [low, high], or a gr.Error that says what to type."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise gr.Error(f"{name} is empty: enter a whole number from {low} to {high}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a whole number from {low} to {high}, not '{value}'.") from None
    if not math.isfinite(number) or number != int(number):
        raise gr.Error(f"{name} must be a whole number from {low} to {high}, not {value}.")
    if not low <= number <= high:
        raise gr.Error(f"{name} must be from {low} to {high}; you asked for {int(number)}.")
    return int(number)


def parse_number(value: object, name: str, low: float, high: float, low_open: bool = False) -> float:
    """A finite number in [low, high] (or (low, high] with ``low_open``), or a gr.Error that says what to type."""
    span = f"{'above' if low_open else 'from'} {low:g} {'up ' if low_open else ''}to {high:g}"
    if value is None or (isinstance(value, str) and not value.strip()):
        raise gr.Error(f"{name} is empty: enter a number {span}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise gr.Error(f"{name} must be a number {span}, not '{value}'.") from None
    if not math.isfinite(number) or number > high or number < low or (low_open and number == low):
        raise gr.Error(f"{name} must be a number {span}; you asked for {value}.")
    return number


def generator_for(registry: ModelRegistry, model_id: object):  # noqa: ANN201 - OnnxGenerator | AutoregressiveGenerator
    try:
        return registry.generator(str(model_id))
    except UnknownModel as exc:
        raise gr.Error(exc.args[0]) from None
    except GeneratorUnavailable as exc:
        raise gr.Error(str(exc)) from None


def encoded_line(registry: ModelRegistry, model_id: str, samples: np.ndarray, steps: int, z_dim: int) -> np.ndarray:
    """The generator noise along the straight path between the model encoder's posterior means of two samples
    ([2, ...] in the modality's sample layout): float32 [steps, z_dim]. A missing or broken encoder is a gr.Error
    with the command that rebuilds it."""
    try:
        encoder = registry.extra_session(model_id, "encoder")
    except GeneratorUnavailable as exc:
        raise gr.Error(str(exc)) from None
    z = encoder.run(["z"], {"sample": samples})[0]  # (2, latent) posterior means
    return latent_line(z[0], z[1], steps, z_dim)
