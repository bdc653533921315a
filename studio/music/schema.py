"""The music metrics: what each recorded number is called and which way is better."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from studio.evaluation.schema import Metric, MetricSchema


def verdict(m: Mapping[str, Any]) -> str:
    if "collapsed" not in m:
        return "not scored yet"
    if m["collapsed"]:
        return (f"⚠️ collapsed: {m['distinct_fragments']:.0%} distinct fragments, "
                f"{m['verticals_per_bar']:.1f} sonorities per bar")
    return "varied: no collapse flagged"


SCHEMA = MetricSchema(
    modality="music", sample_noun="fragments", verdict=verdict, real_label="held-out Bach",
    metrics=(
        Metric("fd", "FD", "Fréchet distance of 50 music features, samples vs the held-out chorales", "lower"),
        Metric("pitch_class_kl", "pitch KL", "KL divergence of the key-relative pitch classes to the held-out "
               "chorales', nats", "lower"),
        Metric("consonance_on_beats", "consonance", "share of consonant verticals on quarter-note beats", "higher"),
        Metric("out_of_range", "out of range", "share of notes outside their voice's textbook range", "lower"),
        Metric("voice_crossing", "crossings", "share of sounding steps where a lower voice is above a higher one",
               "lower"),
        Metric("parallel_5_8", "par. 5/8", "share of two-voice moves in parallel fifths or octaves", "lower", 4),
        Metric("note_density", "onsets/voice/bar", "note onsets per voice per bar", digits=2),
        Metric("rest_share", "silent cells", "share of (step, voice) cells that are silent"),
        Metric("verticals_per_bar", "sonorities/bar", "distinct four-voice sonorities per bar", digits=2),
        Metric("novelty", "novelty", "share of 2-bar windows found nowhere in the training chorales", "higher"),
        Metric("distinct_fragments", "distinct", "share of pairwise-distinct fragments", "higher"),
        Metric("collapsed", "collapsed", "mostly identical fragments, or under one sonority per bar"),
    ),
    table=("fd", "pitch_class_kl", "consonance_on_beats", "out_of_range", "voice_crossing", "parallel_5_8",
           "note_density", "verticals_per_bar", "novelty", "distinct_fragments", "collapsed"),
    compared=("fd", "pitch_class_kl", "consonance_on_beats", "out_of_range", "voice_crossing", "parallel_5_8",
              "note_density", "verticals_per_bar", "novelty", "distinct_fragments"),
    legacy_keys={"frechet_distance": "fd"},
    legacy_likelihoods={"nll_bits_per_token": "bits/token", "neg_elbo_bits_per_token": "bits/token"},
)
