"""The charts are honest by construction: bars from zero, models side by side, directions named, one shared
histogram axis with the uniform line, and losses of different scales on separate axes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from studio.image import MODALITY as IMAGE
from studio.image.data import CLASS_NAMES
from studio.music import MODALITY as MUSIC
from studio.ui import charts

pytest.importorskip("matplotlib")


def image_table() -> pd.DataFrame:
    s = IMAGE.schema
    return pd.DataFrame([
        {"model": "image-gan", "family": "gan", s.metric("precision").header: 0.65, s.metric("fd").header: 6.5},
        {"model": "image-vae", "family": "vae", s.metric("precision").header: 0.31, s.metric("fd").header: 19.8},
    ])


def test_metric_bars_start_at_zero_group_models_and_name_the_direction():
    fig, summary = charts.metric_bars(image_table(), IMAGE.schema, ("precision", "fd"))
    axes = fig.get_axes()
    assert len(axes) == 2  # one panel per metric: nothing is stacked or added up across metrics
    for ax in axes:
        assert ax.get_ylim()[0] == 0
        bars = ax.patches
        assert len(bars) == 2 and bars[0].get_x() != bars[1].get_x()  # side by side
        assert all(b.get_y() == 0 for b in bars)  # each bar from the baseline, none on top of another
    titles = [ax.get_title() for ax in axes]
    assert "higher is better" in titles[0] and "lower is better" in titles[1]
    assert "precision ↑: best image-gan (0.650)" in summary and "FD ↓: best image-gan" in summary


def test_a_small_share_is_drawn_as_a_visible_bar_on_a_zero_based_shared_axis():
    balanced = [0.09, 0.1, 0.11, 0.13, 0.13, 0.09, 0.09, 0.09, 0.09, 0.08]
    peaked = [0.02, 0.01, 0.01, 0.18, 0.27, 0.12, 0.17, 0.02, 0.15, 0.05]
    top = charts.histogram_limit([balanced, peaked])
    fig, summary = charts.class_histogram({"image-gan": balanced}, CLASS_NAMES, top=top)
    ax = fig.get_axes()[0]
    assert ax.get_ylim() == (0, pytest.approx(top))
    assert top > max(peaked)  # the same axis fits every model, so panels compare at a glance
    heights = [b.get_height() for b in ax.patches]
    assert heights[-1] == pytest.approx(0.08) and heights[-1] / top > 0.2  # 8% is a bar, not an empty axis
    uniform = [line for line in ax.get_lines() if np.allclose(line.get_ydata(), 0.1)]
    assert uniform, "no uniform = 0.10 line"
    assert "fewest Ankle boot (8%)" in summary and "10%" in summary


def test_histograms_of_several_models_are_grouped_not_stacked():
    fig, _ = charts.class_histogram({"a": [0.1] * 10, "b": [0.1] * 10}, CLASS_NAMES)
    bars = fig.get_axes()[0].patches
    assert len(bars) == 20 and all(b.get_y() == 0 for b in bars)
    assert len({round(b.get_x(), 6) for b in bars}) == 20


def test_curves_put_losses_of_different_scales_on_separate_axes_and_mark_rollbacks():
    steps = list(range(0, 1000, 50))
    curves = {"series": {"vae/loss": [[s, 2000.0 - s] for s in steps], "vae/kl": [[s, 0.5] for s in steps],
                         "vae/grad_norm": [[s, 3.0] for s in steps], "lr_mult": [[s, 1.0] for s in steps]},
              "events": [{"event": "rollback", "step": 400}]}
    fig, summary = charts.training_curves(curves, "image-vae")
    axes = fig.get_axes()
    loss_axes = [ax for ax in axes if ax.get_title(loc="left") == "losses"]
    assert len(loss_axes) == 2  # a 2,000-nat loss and a KL near 0.5 do not share one axis
    assert any(line.get_xdata()[0] == 400 for ax in axes for line in ax.get_lines() if len(line.get_xdata()) == 2)
    assert "1 rollback" in summary and "Gradient norms" in summary
    legends = [t.get_text() for ax in axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert {"vae/loss", "vae/kl", "vae/grad_norm", "lr_mult"} <= set(legends)  # full names, not truncated


def test_best_per_metric_uses_each_direction_and_the_held_out_data():
    s = MUSIC.schema
    table = pd.DataFrame([
        {"model": "music-a", "family": "gan", s.metric("fd").header: 0.5, s.metric("consonance_on_beats").header: 0.6},
        {"model": "music-b", "family": "vae", s.metric("fd").header: 0.1, s.metric("consonance_on_beats").header: 0.4},
        {"model": "held-out Bach", "family": "data", s.metric("fd").header: 0.07,
         s.metric("consonance_on_beats").header: 0.74},
    ])
    text = charts.best_per_metric(table, s, ("fd", "consonance_on_beats"))
    assert "| FD ↓ | music-b | 0.100 | 0.070 |" in text
    assert "| consonance ↑ | music-a |" in text
