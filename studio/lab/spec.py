"""What a Lab run is: the data, the family, every knob with its range and a one-line reason, and presets.

A spec is a plain dict (it travels to the worker process as JSON). ``validate`` fills defaults and
refuses out-of-range values with a message that names the knob and its range.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from studio.onnx.contract import MAX_SEED

DATA = {"ring": "Ring of 8 Gaussians", "grid": "Grid of 25 Gaussians", "moons": "Two moons",
        "images": "Tiny images (Fashion-MNIST)"}
FAMILIES = {"gan": "GAN", "vae": "VAE", "flow": "Flow"}
IMAGE_FAMILIES = ("gan", "vae")  # the flow runs on the 2-D toys only
MAX_SECONDS = 90.0  # a safety cap on training time; a run's budget is its steps
DEFAULT_STEPS = 2_000
MIN_STEPS, MAX_STEPS = 100, 20_000
VAE_LATENT = {"points": 8, "images": 16}  # latent units of the Lab's VAEs (the active-unit readout's "of N")


def fmt(value: float) -> str:
    """1e-06, 0.5, 90, 2,147,483,647: short for rates, whole numbers in full."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) >= 1 else f"{value:g}"


class LabInputError(ValueError):
    """A knob is out of range or a combination is not offered; the message says which and what is allowed."""


@dataclass(frozen=True)
class Knob:
    key: str
    label: str
    kind: str  # "float", "int", "bool" or "choice"
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    why: str = ""  # one line: what the knob does to training

    def check(self, value: Any) -> Any:
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise LabInputError(f"{self.label} is on or off (true/false), not {value!r}.")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise LabInputError(f"{self.label} must be one of {', '.join(map(str, self.choices))}, "
                                    f"not {value!r}.")
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise LabInputError(f"{self.label} must be a number from {fmt(self.low)} to {fmt(self.high)}, "
                                f"not {value!r}.") from None
        if not (self.low <= number <= self.high):  # also refuses NaN
            raise LabInputError(f"{self.label} must be from {fmt(self.low)} to {fmt(self.high)}; got {number:g}.")
        if self.kind == "int":
            if number != int(number):
                raise LabInputError(f"{self.label} must be a whole number; got {number:g}.")
            return int(number)
        return number


KNOBS: dict[str, tuple[Knob, ...]] = {
    "gan": (
        Knob("loss", "Loss", "choice", "hinge", choices=("non-saturating", "hinge", "wgan-gp"),
             why="non-saturating is the original GAN loss; hinge and WGAN-GP give the generator useful "
                 "gradients even when the critic wins."),
        Knob("spectral_norm", "Spectral norm", "bool", True,
             why="caps each critic layer's gain at 1, so the critic cannot become arbitrarily sharp."),
        Knob("gp_weight", "Gradient-penalty weight", "float", 10.0, 0.0, 100.0,
             why="WGAN-GP only: pushes the critic's gradient norm towards 1 between real and fake."),
        Knob("lr_g", "Generator learning rate", "float", 1e-4, 1e-6, 1.0,
             why="how far the generator moves per step."),
        Knob("lr_d", "Critic learning rate", "float", 4e-4, 1e-6, 1.0,
             why="TTUR: a critic faster than the generator tracks it instead of chasing it."),
        Knob("d_steps", "Critic steps per generator step", "int", 1, 1, 5,
             why="more critic steps give the generator a better-informed gradient."),
        Knob("beta1", "Adam beta1", "float", 0.0, 0.0, 0.99,
             why="momentum; GANs oscillate less with little or none."),
        Knob("beta2", "Adam beta2", "float", 0.999, 0.5, 0.9999,
             why="how long Adam remembers gradient sizes; 0.9 adapts faster to an opponent that keeps moving."),
        Knob("pack", "Packing (PacGAN)", "choice", 4, choices=(1, 2, 4),
             why="the critic judges this many samples at once, so it can see that they all look alike."),
        Knob("ema", "Generator EMA", "bool", True,
             why="samples from a running average of the generator's weights, smoothing out oscillation."),
    ),
    "vae": (
        Knob("beta", "beta (KL weight)", "float", 1.0, 0.0, 20.0,
             why="1 trains the ELBO; larger squeezes the code harder and can switch latent units off."),
        Knob("warmup_steps", "KL warm-up steps", "int", 500, 0, 20_000,
             why="starts the KL weight at 0 and raises it, so the decoder learns to read z first."),
        Knob("free_bits", "Free bits (nats per unit)", "float", 0.5, 0.0, 5.0,
             why="a unit's KL below this costs nothing, so the encoder is not pushed to switch it off."),
        Knob("strong_decoder", "Strong decoder (2-D: a 10-Gaussian mixture)", "bool", False,
             why="a decoder that can draw the data without z, like a text VAE's: it invites posterior collapse."),
    ),
    "flow": (
        Knob("depth", "Depth (couplings)", "int", 8, 2, 16,
             why="more couplings bend the space more; deeper flows are slower and touchier."),
        Knob("actnorm", "ActNorm", "bool", True,
             why="rescales each layer's input to unit variance from the first batch (Glow)."),
        Knob("lr", "Learning rate", "float", 1e-3, 1e-6, 1.0, why="how far each step moves."),
        Knob("clip", "Gradient clipping", "bool", True,
             why="caps the gradient norm at 1, so one bad batch cannot throw the weights far."),
    ),
}

STEPS_KNOB = Knob("steps", "Training steps", "int", DEFAULT_STEPS, MIN_STEPS, MAX_STEPS,
                  why="the run's budget: every host trains the same steps and shows the same lesson; the time "
                      "limit only guards against a machine too slow to finish.")

#: Each preset shows its effect within its steps on every seed tried (scripts/bench/lab_presets.py); 2,000 steps
#: take about 17 s on the project's 2-core machine and stay under 60 s on one three times slower.
PRESETS: dict[str, dict[str, Any]] = {
    "Mode collapse": {
        "data": "ring", "family": "gan", "steps": 2_000, "why": "The original GAN loss with nothing to stabilise "
        "it, and a critic that outpaces the generator (10 times its learning rate, 2 steps per generator step): "
        "the generator collapses onto one or a few modes of the ring and hops between them.",
        "gan": {"loss": "non-saturating", "spectral_norm": False, "lr_g": 1e-3, "lr_d": 1e-2, "d_steps": 2,
                "beta1": 0.5, "beta2": 0.999, "pack": 1, "ema": False}},
    "Rescued": {
        "data": "ring", "family": "gan", "steps": 2_000, "why": "The same loss with spectral norm on the critic, "
        "one critic step per generator step at 4 times its learning rate (TTUR), no momentum and a quick Adam "
        "beta2, packing and an averaged generator: every mode, sharply, in the same number of steps.",
        "gan": {"loss": "non-saturating", "spectral_norm": True, "lr_g": 1e-3, "lr_d": 4e-3, "d_steps": 1,
                "beta1": 0.0, "beta2": 0.9, "pack": 2, "ema": True}},
    "Divergence": {
        "data": "moons", "family": "flow", "steps": 2_000, "why": "A learning rate 30 times too high and no "
        "clipping: the loss blows up, the loop rolls back to its last checkpoint and halves the rate until "
        "training recovers.",
        "flow": {"depth": 8, "actnorm": True, "lr": 0.03, "clip": False}},
    "Posterior collapse": {
        "data": "ring", "family": "vae", "steps": 2_000, "why": "A VAE whose decoder can draw the ring on its "
        "own, with no warm-up and no free bits: the decoder learns to ignore z and the encoder switches its units off.",
        "vae": {"beta": 1.0, "warmup_steps": 0, "free_bits": 0.0, "strong_decoder": True}},
    "Posterior rescued": {
        "data": "ring", "family": "vae", "steps": 2_000,
        "why": "The same VAE with free bits and a warm-up: its units stay on.",
        "vae": {"beta": 1.0, "warmup_steps": 500, "free_bits": 0.5, "strong_decoder": True}},
}


def default_spec(data: str = "ring", family: str = "gan") -> dict[str, Any]:
    spec: dict[str, Any] = {"data": data, "family": family, "seed": 0, "steps": DEFAULT_STEPS,
                            "seconds": MAX_SECONDS}
    for fam, knobs in KNOBS.items():
        spec[fam] = {k.key: k.default for k in knobs}
    return spec


def preset_spec(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise LabInputError(f"There is no preset {name!r}; pick one of {', '.join(PRESETS)}.")
    preset = copy.deepcopy(PRESETS[name])
    spec = default_spec(preset["data"], preset["family"])
    spec["steps"] = preset.get("steps", DEFAULT_STEPS)
    for fam in KNOBS:
        spec[fam].update(preset.get(fam, {}))
    return spec


def validate(spec: dict[str, Any]) -> dict[str, Any]:
    """A complete, checked copy of ``spec`` (missing knobs take their defaults)."""
    data, family = spec.get("data"), spec.get("family")
    if data not in DATA:
        raise LabInputError(f"Pick a data set: {', '.join(DATA.values())}.")
    if family not in FAMILIES:
        raise LabInputError(f"Pick a family: {', '.join(FAMILIES.values())}.")
    if data == "images" and family not in IMAGE_FAMILIES:
        raise LabInputError("The flow trains on the 2-D data sets only; pick the GAN or the VAE for images.")
    out = default_spec(data, family)
    seed = spec.get("seed", 0)
    out["seed"] = Knob("seed", "Seed", "int", 0, 0, MAX_SEED).check(seed)
    out["steps"] = STEPS_KNOB.check(spec.get("steps", DEFAULT_STEPS))
    out["seconds"] = Knob("seconds", "Time limit (seconds)", "float", MAX_SECONDS, 5, MAX_SECONDS).check(
        spec.get("seconds", MAX_SECONDS))
    for fam, knobs in KNOBS.items():  # every block given is checked, not only the chosen family's
        given = spec.get(fam) or {}
        if not isinstance(given, dict):
            raise LabInputError(f"The {FAMILIES[fam]} knobs must be a mapping of knob to value.")
        for knob in knobs:
            out[fam][knob.key] = knob.check(given.get(knob.key, knob.default))
    return out
