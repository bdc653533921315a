"""The Bach chorale data: token grid operations, parsing rules, the split, the cache, the real corpus."""

from __future__ import annotations

import numpy as np
import pytest

from studio.music import data
from studio.music.data import (
    FIRST_PITCH_TOKEN,
    HOLD,
    PITCH_HIGH,
    PITCH_LOW,
    REST,
    STEPS_PER_BAR,
    VOCAB,
    ChoraleSplit,
    UnusablePiece,
    augment,
    canonical,
    fragments,
    load_chorales,
    sounding_pitches,
    split_pieces,
    transpose,
)
from studio.registry.record import DataMissing


def tok(midi: int) -> int:
    return FIRST_PITCH_TOKEN + midi - PITCH_LOW


def chorale(seed: int, bars: int = 4) -> np.ndarray:
    """A plausible grid: a C-major triad per beat, voiced S/A/T/B, random inversions."""
    rng = np.random.default_rng(seed)
    chords = [(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (76, 72, 67, 48)]
    grid = np.full((bars * STEPS_PER_BAR, 4), HOLD, dtype=np.int64)
    for beat in range(bars * 4):
        grid[beat * 4] = [tok(p) for p in chords[rng.integers(len(chords))]]
    return grid


def test_constants_describe_the_encoding():
    assert (PITCH_LOW, PITCH_HIGH) == (36, 81) and VOCAB == 2 + 46
    assert data.FRAGMENT_STEPS == data.FRAGMENT_BARS * STEPS_PER_BAR == 64


def test_sounding_pitches_follow_holds_and_read_orphan_holds_as_silence():
    grid = np.array([[HOLD, tok(60), REST, REST],  # an orphan hold at t=0
                     [HOLD, HOLD, REST, REST],
                     [tok(62), REST, tok(48), REST],
                     [HOLD, HOLD, HOLD, REST]])  # the alto holds after a rest: orphan
    expected = np.array([[-1, 60, -1, -1], [-1, 60, -1, -1], [62, -1, 48, -1], [62, -1, 48, -1]])
    assert (sounding_pitches(grid) == expected).all()
    assert canonical(grid)[0, 0] == REST and canonical(grid)[3, 1] == REST and canonical(grid)[3, 0] == HOLD


def test_transpose_keeps_holds_and_refuses_to_leave_the_range():
    grid = np.array([[tok(80), REST, HOLD, tok(40)]] * 2)
    grid[1] = [HOLD, REST, HOLD, HOLD]
    up = transpose(grid, 1)
    assert up[0, 0] == tok(81) and up[0, 3] == tok(41) and (up[1] == grid[1]).all()
    assert transpose(grid, 2) is None and transpose(grid, -4) is not None and transpose(grid, -5) is None


def test_augment_uses_only_in_range_shifts():
    grid = np.array([[tok(79), tok(60), tok(50), tok(40)]])  # room: -4 below, +2 above
    split = augment([grid], ["bach/x"])
    assert split.shifts.tolist() == [-4, -3, -2, -1, 0, 1, 2] and set(split.piece_ids) == {"bach/x"}
    assert all(g.max() < VOCAB and g[g >= FIRST_PITCH_TOKEN].min() >= FIRST_PITCH_TOKEN for g in split.grids)


def test_fragments_are_self_contained_bar_aligned_windows():
    grid = chorale(0, bars=6)
    grid[14:20, 0] = [tok(74)] + [HOLD] * 5  # a note held across the bar line at step 16
    frags = fragments([grid, chorale(1, bars=3)], steps=64, hop=16)
    assert frags.dtype == np.int64 and frags.shape == (3, 64, 4)  # 6-bar piece: starts 0, 16, 32; 3 bars: none
    assert frags[1, 0, 0] == tok(74) and (frags[1, 1:4, 0] == HOLD).all()  # the hold became an onset
    assert (frags[0] == grid[:64]).all() and (frags[2, 1:] == grid[33:96]).all()
    assert fragments([chorale(2, bars=2)]).shape == (0, 64, 4)


def test_split_is_deterministic_disjoint_and_keeps_a_tune_on_one_side():
    ids = [f"bach/bwv{i}" for i in range(100)]
    grids = [chorale(i, bars=3) for i in range(100)]
    grids[1] = transpose(grids[0], 2)  # the same tune in another key: must not straddle the split
    train, valid = split_pieces(ids, grids)
    assert (train, valid) == split_pieces(list(reversed(ids)), list(reversed(grids)))
    assert not set(train) & set(valid) and len(train) + len(valid) == 100
    assert 9 <= len(valid) <= 12
    assert ("bach/bwv0" in valid) == ("bach/bwv1" in valid)


def _score(meter: str = "4/4", durations=(1.0, 2.0, 1.0, 4.0), bases=(72, 67, 64, 48),
           names=("Soprano", "Alto", "Tenor", "Bass")):
    """A tiny 4-part score built in memory (no corpus parse)."""
    m21 = pytest.importorskip("music21")
    score = m21.stream.Score()
    for name, base in zip(names, bases):
        part = m21.stream.Part()
        part.append(m21.meter.TimeSignature(meter))
        for i, d in enumerate(durations):
            part.append(m21.note.Note(base + (i % 2), quarterLength=d))
        part = part.makeMeasures()
        part.partName = name
        score.insert(0, part)
    return score


def test_encode_score_writes_onsets_holds_ties_and_aligns_bars():
    m21 = pytest.importorskip("music21")
    score = m21.stream.Score()
    for name, base in zip(("Soprano", "Alto", "Tenor", "Bass"), (72, 67, 64, 48)):
        part = m21.stream.Part(partName=name)
        m0 = m21.stream.Measure(number=0)  # a one-beat pickup
        m0.append(m21.meter.TimeSignature("4/4"))
        m0.append(m21.note.Note(base, quarterLength=1))
        m1 = m21.stream.Measure(number=1)
        m1.append(m21.note.Note(base + 2, quarterLength=3))
        tied = m21.note.Note(base + 4, quarterLength=1)
        tied.tie = m21.tie.Tie("start")
        m1.append(tied)
        m2 = m21.stream.Measure(number=2)
        cont = m21.note.Note(base + 4, quarterLength=2)
        cont.tie = m21.tie.Tie("stop")
        m2.append(cont)
        m2.append(m21.note.Rest(quarterLength=2))
        part.append([m0, m1, m2])
        score.insert(0, part)
    grid = data.encode_score(score)
    assert grid.shape == (48, 4)  # 12 rest steps of pickup padding + bar 1 + bar 2, whole bars
    s = grid[:, 0]
    assert (s[:12] == REST).all() and s[12] == tok(72) and (s[13:16] == HOLD).all()
    assert s[16] == tok(74) and (s[17:28] == HOLD).all()
    assert s[28] == tok(76) and (s[29:40] == HOLD).all()  # tied over the bar line: no new onset
    assert (s[40:] == REST).all() and grid[16, 3] == tok(50)


@pytest.mark.parametrize("meter, durations, reason", [
    ("3/4", (1.0, 2.0, 3.0), "not 4/4"),
    ("4/4", (1.0, 1 / 3, 1 / 3, 1 / 3, 1.0, 4.0), "16th-note grid"),
])
def test_encode_score_rejects_what_the_grid_cannot_hold(meter, durations, reason):
    with pytest.raises(UnusablePiece, match=reason):
        data.encode_score(_score(meter, durations))


def test_voices_must_fall_from_soprano_to_bass():
    assert data.encode_score(_score(names=(None,) * 4)).shape == (32, 4)  # unnamed parts in order: fine
    with pytest.raises(UnusablePiece, match="S, A, T, B"):
        data.encode_score(_score(bases=(40, 67, 64, 48), names=(None,) * 4))  # "soprano" below the bass
    with pytest.raises(UnusablePiece, match="S, A, T, B"):
        data.encode_score(_score(names=("Bass", "Tenor", "Alto", "Soprano")))


def _fake_corpus(monkeypatch, n: int = 30):
    grids = {f"bach/bwv{i}": chorale(i, bars=5) for i in range(n)}
    report = {"music21_version": "fake", "parse_seconds": 0.0, "pieces_listed": n + 1, "pieces_kept": n,
              "dropped": {"bach/odd": "not 4 parts: 5 parts"}, "dropped_by_reason": {"not 4 parts": 1}}
    monkeypatch.setattr(data, "parse_corpus", lambda progress=False: (dict(grids), dict(report)))
    monkeypatch.setattr(data, "_music21_available", lambda: True)  # parse_corpus is faked: no music21 needed
    return grids


def test_cache_is_written_atomically_and_loaded_without_music21(tmp_path, monkeypatch):
    grids = _fake_corpus(monkeypatch)
    path = data.prepare(tmp_path)
    assert path == tmp_path / data.CACHE_NAME and [p.name for p in tmp_path.iterdir()] == [data.CACHE_NAME]
    monkeypatch.setattr(data, "parse_corpus", lambda progress=False: pytest.fail("the cache was not used"))
    monkeypatch.setattr(data, "_music21_available", lambda: False)
    splits = load_chorales(tmp_path)
    report = data.load_report(tmp_path)
    assert sorted(set(splits["valid"].piece_ids)) == report["valid_ids"] and len(report["valid_ids"]) == 3
    assert not set(splits["train"].piece_ids) & set(splits["valid"].piece_ids)
    assert (splits["valid"].shifts == 0).all()
    assert set(splits["train"].shifts.tolist()) == set(range(-5, 6))  # +6 would take E5 above A5
    for grid, pid in zip(splits["valid"].grids, splits["valid"].piece_ids):
        assert grid.dtype == np.int64 and (grid == grids[pid]).all()
    plain = load_chorales(tmp_path, augment_train=False)["train"]
    assert isinstance(plain, ChoraleSplit) and len(plain) == 27 and (plain.shifts == 0).all()


def test_missing_music21_and_cache_names_the_setup_script(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_music21_available", lambda: False)
    with pytest.raises(DataMissing, match="scripts/get_data.sh"):
        load_chorales(tmp_path / "nowhere")


def test_module_main_prepares_and_prints_split_sizes(tmp_path, monkeypatch, capsys):
    _fake_corpus(monkeypatch)
    assert data.main(["--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "train: 27 pieces" in out and "valid: 3 pieces" in out and "dropped 1: not 4 parts" in out


def test_module_main_without_music21_says_how_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(data, "_music21_available", lambda: False)
    assert data.main(["--cache-dir", str(tmp_path)]) == 1
    assert "scripts/get_data.sh" in capsys.readouterr().err


def test_provenance_names_source_and_licences():
    assert "music21" in data.PROVENANCE and "BSD-3-Clause" in data.PROVENANCE and "public domain" in data.PROVENANCE


@pytest.mark.slow
def test_real_chorales_split_cleanly_and_sound_like_bach():
    pytest.importorskip("music21", reason="music21 is not installed (bash scripts/get_data.sh)")
    from studio.music.metrics import build_reference, music_metrics

    splits = load_chorales()
    train_ids, valid_ids = set(splits["train"].piece_ids), set(splits["valid"].piece_ids)
    assert not train_ids & valid_ids and len(train_ids) > 200 and 20 <= len(valid_ids) <= 40
    train_tunes = {data.tune_key(g) for g, s in zip(splits["train"].grids, splits["train"].shifts) if s == 0}
    assert not train_tunes & {data.tune_key(g) for g in splits["valid"].grids}
    assert all(len(g) % STEPS_PER_BAR == 0 and g.max() < VOCAB for g in splits["train"].grids)
    row = music_metrics(fragments(splits["valid"].grids), build_reference(splits))
    assert row["out_of_range"] < 0.05 and row["consonance_on_beats"] > 0.65
    assert row["parallel_5_8"] < 0.01 and row["voice_crossing"] < 0.05 and not row["collapsed"]
    assert row["novelty"] > 0.9
