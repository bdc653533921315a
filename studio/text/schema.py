"""The text metrics: what each recorded number is called and which way is better."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.evaluation.schema import Metric, MetricSchema


def verdict(m: Mapping[str, Any]) -> str:
    if "distinct_2" not in m:
        return "not scored yet"
    if m.get("collapsed"):
        return (f"⚠️ collapsed: distinct-2 {m['distinct_2']:.2f} is under half the held-out text's "
                f"{m['distinct_2_real']:.2f}")
    return "diverse: distinct-2 is at least half the held-out text's, no collapse flagged"


SCHEMA = MetricSchema(
    modality="text", sample_noun="lines", verdict=verdict, real_label="held-out lines",
    metrics=(
        Metric("fd", "FD", "Fréchet distance of the reference character model's line features, samples vs "
               "held-out lines", "lower", 2),
        Metric("distinct_1", "distinct-1", "distinct word unigrams over all word unigrams"),
        Metric("distinct_2", "distinct-2", "distinct word bigrams over all word bigrams (the collapse readout)"),
        Metric("distinct_3", "distinct-3", "distinct word trigrams over all word trigrams"),
        Metric("novelty", "novelty", "share of 20-character spans found nowhere in the training text", "higher"),
        Metric("real_word_share", "real words", "share of generated words found in the training text", "higher"),
        Metric("ref_perplexity", "ref. perplexity", "the reference character model's perplexity of the samples",
               "lower", 2),
        Metric("mean_line_chars", "line length", "mean characters per line", digits=1),
        Metric("distinct_lines", "distinct lines", "share of pairwise-distinct lines"),
        Metric("collapsed", "collapsed", "distinct-2 under half the held-out text's"),
    ),
    table=("fd", "distinct_1", "distinct_2", "distinct_3", "novelty", "real_word_share", "ref_perplexity",
           "collapsed"),
    compared=("fd", "distinct_1", "distinct_2", "distinct_3", "novelty", "real_word_share", "ref_perplexity"),
    legacy_likelihoods={"nll_bits_per_char": "bits/char", "neg_elbo_bits_per_char": "bits/char"},
)
