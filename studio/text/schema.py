"""The text metrics: what each recorded number is called and which way is better."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.evaluation.schema import Metric, MetricSchema
from studio.text.charstats import DEGENERATE_JS, DEGENERATE_LINES, RUN


def verdict(m: Mapping[str, Any]) -> str:
    if "distinct_2" not in m:
        return "not scored yet"
    if m.get("degenerate"):
        return (f"⚠️ degenerate: {m['degenerate_share']:.0%} of lines repeat a character {RUN}+ times or hold a "
                f"vowelless word (held-out lines: {m['degenerate_share_real']:.1%}), and the character 3-grams "
                f"diverge from the held-out text's by {m['char3_js']:.2f} (held-out lines: "
                f"{m['char3_js_real']:.2f}); word diversity means little here")
    if m.get("collapsed"):
        return (f"⚠️ collapsed: distinct-2 {m['distinct_2']:.2f} is under half the held-out text's "
                f"{m['distinct_2_real']:.2f}")
    return ("diverse and well-formed: distinct-2 is at least half the held-out text's, and the characters read "
            "like the held-out text's (no collapse or degenerate text flagged)")


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
        Metric("degenerate_share", "degenerate lines", "share of lines with a character 4+ times in a row or a "
               "vowelless word of 4+ letters", "lower"),
        Metric("char3_js", "char 3-gram JS", "Jensen–Shannon divergence (bits) of the character 3-grams to "
               "other held-out lines'", "lower", 3),
        Metric("collapsed", "collapsed", "distinct-2 under half the held-out text's"),
        Metric("degenerate", "degenerate", f"over {DEGENERATE_LINES:.0%} degenerate lines or a character 3-gram JS "
               f"over {DEGENERATE_JS}"),
    ),
    table=("fd", "distinct_1", "distinct_2", "distinct_3", "novelty", "real_word_share", "degenerate_share",
           "char3_js", "ref_perplexity", "collapsed", "degenerate"),
    compared=("fd", "distinct_1", "distinct_2", "distinct_3", "novelty", "real_word_share", "degenerate_share",
              "char3_js", "ref_perplexity"),
    legacy_likelihoods={"nll_bits_per_char": "bits/char", "neg_elbo_bits_per_char": "bits/char"},
)
