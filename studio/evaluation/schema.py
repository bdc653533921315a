"""The metric schema type: what each recorded number is called, what it means and which way is better.

Each modality declares one ``MetricSchema``; cards, app panels, compare tables, ``scripts/evaluate.py``,
``scripts/model_table.py`` and the training print-out all read it, so a key has one label everywhere.

A likelihood is recorded the same way in every modality: ``likelihood`` (bits per unit, lower is
better), ``likelihood_unit`` ("bits/dim", "bits/char", ...) and ``likelihood_kind``:
- ``exact``: the model's exact negative log-likelihood;
- ``dequantized``: exact for a dequantized (continuous) model, so an upper bound on the discrete data;
- ``bound``: an upper bound (the negative ELBO).
and, where it helps, ``likelihood_note``: what it is computed over. A model without a likelihood (a GAN)
records none of these: absent, never 0.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

LIKELIHOOD_KINDS = {
    "exact": "exact",
    "dequantized": "exact, dequantized",
    "bound": "ELBO bound",
}
REAL_SUFFIX = "_real"  # what the held-out data itself scores, recorded beside a model's number
#: Keys an older version recorded and that the likelihood triple replaces (derivable, or superseded).
_SUPERSEDED = ("nll_nats", "nll_nats_per_token", "nll_nats_per_char", "neg_elbo_nats")
#: An older version's ``likelihood_kind`` texts that only restate the kind (anything else becomes the note).
_KIND_ONLY = ("bound (negative ELBO)", "exact for the uniformly dequantized model (an upper bound on the discrete NLL)")


@dataclass(frozen=True)
class Metric:
    key: str
    label: str  # short: a column header or chart label
    description: str  # one line, for cards and panels
    better: str = ""  # "lower", "higher", or "" (a descriptive number: the held-out data's value is the target)
    digits: int = 3

    @property
    def header(self) -> str:
        """The label with its direction: "FD ↓"."""
        return self.label + {"lower": " ↓", "higher": " ↑"}.get(self.better, "")

    def format(self, value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float):
            return f"{value:,.{self.digits}f}"
        return str(value)


LIKELIHOOD = Metric("likelihood", "likelihood", "held-out negative log-likelihood", "lower")
#: Numbers any model may record, whatever its modality.
COMMON = (
    Metric("kl_nats", "KL, nats", "KL divergence from the posterior to the prior on held-out data, nats"),
    Metric("active_units", "active units",
           "latent units whose posterior mean varies across held-out data (variance > 0.01)", "higher", 0),
    Metric("params", "params", "generator parameters", digits=0),
    Metric("onnx_bytes", "ONNX bytes", "size of the served ONNX file(s), bytes", digits=0),
    Metric("train_minutes", "train min", "training time, wall-clock minutes", digits=1),
    Metric("eval_samples_per_s", "samples/s", "samples per second drawn in ONNX Runtime during evaluation",
           "higher", 0),
)


def likelihood_text(metrics: Mapping[str, Any]) -> str:
    """The likelihood as one cell: "≤ 3.385 bits/dim (ELBO bound)", "2.194 bits/char (exact)", or "—"."""
    if "likelihood" not in metrics:
        return "—"
    kind = metrics.get("likelihood_kind", "exact")
    bound = "≤ " if kind == "bound" else ""
    return (f"{bound}{float(metrics['likelihood']):.3f} {metrics.get('likelihood_unit', 'bits')} "
            f"({LIKELIHOOD_KINDS.get(kind, kind)})")


def sampling_label(sampling: Mapping[str, Any]) -> str:
    """A recorded default sampling as text: "temperature 1.1, top-k 32" (top-k only where it is used)."""
    top_k = f", top-k {sampling['top_k']}" if sampling.get("top_k") else ""
    return f"temperature {sampling.get('temperature', 1.0):g}{top_k}"


@dataclass(frozen=True)
class MetricSchema:
    """A modality's metrics, in the order they are shown."""

    modality: str
    sample_noun: str  # what one sample is called: "images", "lines", "fragments"
    metrics: tuple[Metric, ...]
    table: tuple[str, ...]  # columns of the compare table, the model table and the training print-out
    compared: tuple[str, ...]  # what scripts/evaluate.py checks against the record
    verdict: Callable[[Mapping[str, Any]], str]  # one sentence on collapse / diversity for a panel
    real_label: str = "held-out data"  # what the ``<key>_real`` numbers score, as a table shows it
    #: Migration of metrics.json files written by older versions (scripts/migrate_metrics.py).
    legacy_keys: Mapping[str, str] = field(default_factory=dict)  # old key -> key
    legacy_likelihoods: Mapping[str, str] = field(default_factory=dict)  # old likelihood key -> its unit

    def metric(self, key: str) -> Metric:
        for metric in (*self.metrics, *COMMON, LIKELIHOOD):
            if metric.key == key:
                return metric
        raise KeyError(f"{key!r} is not a {self.modality} metric")

    def format(self, key: str, value: Any) -> str:
        return self.metric(key).format(value)

    def rows(self, metrics: Mapping[str, Any]) -> list[tuple[Metric, Any, Any]]:
        """(metric, value, held-out value or None) for every schema metric the record holds, in order."""
        return [(m, metrics[m.key], metrics.get(m.key + REAL_SUFFIX))
                for m in (*self.metrics, *COMMON) if m.key in metrics]

    def migrate(self, old: Mapping[str, Any]) -> dict[str, Any]:
        """A metrics.json record with its keys brought up to this schema (values untouched)."""
        new: dict[str, Any] = {}
        for key, value in old.items():
            base, real = (key[: -len(REAL_SUFFIX)], REAL_SUFFIX) if key.endswith(REAL_SUFFIX) else (key, "")
            if key in self.legacy_likelihoods:
                kind = ("bound" if key.startswith("neg_elbo") else
                        "dequantized" if "dequantized" in str(old.get("likelihood_kind", "")) else "exact")
                new.update(likelihood=value, likelihood_unit=self.legacy_likelihoods[key], likelihood_kind=kind)
            elif key == "likelihood_kind" and value not in LIKELIHOOD_KINDS:
                if value not in _KIND_ONLY:  # an old free-text description: what the likelihood is computed over
                    new.setdefault("likelihood_note", re.sub(r"^exact[:,]\s*(over\s+)?", "", value))
            elif key not in _SUPERSEDED:
                new[self.legacy_keys.get(base, base) + real] = value
        return new
