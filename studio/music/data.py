"""Bach's four-part chorales from music21's bundled corpus, as 16th-note SATB token grids.

Why a grid: every generator family (GAN, VAE, flow, Transformer) can read and write a fixed
[T, 4] integer array, one token per voice per 16th note, so they are compared on one format.

Tokens per cell: 0 = rest, 1 = hold (the note sounding in this voice goes on),
2 + (midi - PITCH_LOW) = a new note starts. A hold after a rest (or at the very start) has no
note to continue; the decoders read such an "orphan hold" as a rest.

The corpus is parsed once (about 30 s; music21 keeps its own parse cache, ~11 s after) and
cached as .npz under ``<repo>/.cache/data/music/``; later loads read only the cache (no music21
import). ``python -m studio.music.data`` builds it.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from studio import REPO_ROOT
from studio.atomic import atomic_write
from studio.registry.record import DataMissing

# --- the encoding -----------------------------------------------------------------------------
REST, HOLD, FIRST_PITCH_TOKEN = 0, 1, 2
PITCH_LOW, PITCH_HIGH = 36, 81  # C2..A5: the kept chorales span 36..81 (see corpus report)
NUM_PITCHES = PITCH_HIGH - PITCH_LOW + 1  # 46
VOCAB = FIRST_PITCH_TOKEN + NUM_PITCHES  # 48
VOICES = ("soprano", "alto", "tenor", "bass")  # grid column order, highest voice first
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16  # 4/4 only
FRAGMENT_BARS = 4
FRAGMENT_STEPS = FRAGMENT_BARS * STEPS_PER_BAR  # 64
#: Conventional textbook ranges for four-part vocal writing (MIDI, inclusive): soprano C4-G5,
#: alto F3-D5, tenor C3-G4, bass E2-C4. There is no single standard; these are the usual
#: "class use" ranges of harmony courses. Checked on the corpus: 0.46% of the notes of all 288
#: kept chorales (original keys) fall outside (bass 1.5%: down to C2 and up to E4; tenor 0.2%:
#: up to A4). The transposed held-out reference leaves them in about 3%.
VOICE_RANGES = ((60, 79), (53, 74), (48, 67), (40, 60))
TRANSPOSITIONS = tuple(range(-5, 7))  # train-time augmentation, semitones (0 = the original)

# --- the split and the cache ------------------------------------------------------------------
VALID_FRACTION = 0.10
CACHE_VERSION = 1  # bump when the encoding or the selection changes; old caches are then ignored
CACHE_NAME = f"chorales-v{CACHE_VERSION}.npz"
DEFAULT_CACHE_DIR = REPO_ROOT / ".cache" / "data" / "music"
MUSIC21_PIN = "music21==10.5.1"
SETUP_HINT = f"run `bash scripts/get_data.sh` (it runs `pip install {MUSIC21_PIN}` and `python -m studio.music.data`)"
PROVENANCE = (
    "J. S. Bach's four-part chorales (Riemenschneider numbering) from the corpus bundled with "
    f"music21 ({MUSIC21_PIN}; Cuthbert & Ariza 2010). music21's code is BSD-3-Clause; per "
    "music21's README and corpus/license.txt the corpus encodings carry their own terms: the "
    "music is believed public domain in the US, EU and Canada, and the encodings are public "
    "domain or distributed by permission of their encoders, possibly with restrictions on "
    "commercial use. Kept: 4 parts S/A/T/B, 4/4 throughout, quantizable to 16th notes."
)


@dataclass(frozen=True)
class ChoraleSplit:
    """One split: a grid per (piece, transposition); ``shifts`` is 0 for the original key."""

    grids: list[np.ndarray]  # int64 [T_i, 4] each, T_i a multiple of STEPS_PER_BAR
    piece_ids: list[str]  # music21 corpus path per grid, e.g. "bach/bwv269"
    shifts: np.ndarray  # int64 [len(grids)], semitones

    def __len__(self) -> int:
        return len(self.grids)


class UnusablePiece(ValueError):
    """A chorale that does not fit the grid: ``kind`` groups the reason, the message details it."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


# --- grid operations (numpy only) ---------------------------------------------------------------
def check_grids(grids: np.ndarray, min_steps: int = 0) -> np.ndarray:
    """Return ``grids`` as int64 [N, T, 4] or raise saying what is wrong with them (the one grid validator)."""
    grids = np.asarray(grids)
    if grids.ndim != 3 or grids.shape[2] != len(VOICES):
        raise ValueError(f"music grids are [N, T, 4] (soprano, alto, tenor, bass); got shape {grids.shape}")
    if not np.issubdtype(grids.dtype, np.integer):
        raise ValueError(f"a music grid holds integer tokens; got dtype {grids.dtype}")
    if grids.size and (grids.min() < 0 or grids.max() >= VOCAB):
        raise ValueError(f"music tokens lie in 0..{VOCAB - 1}; got {grids.min()}..{grids.max()}")
    if grids.shape[1] < min_steps:
        raise ValueError(f"music grids need at least {min_steps} steps ({min_steps / STEPS_PER_BAR:g} bars) here; "
                         f"got {grids.shape[1]}")
    return grids.astype(np.int64, copy=False)


def check_grid(grid: np.ndarray) -> np.ndarray:
    """Return one ``grid`` as int64 [T, 4] or raise saying what is wrong with it."""
    grid = np.asarray(grid)
    if grid.ndim != 2:
        raise ValueError(f"a music grid is [T, 4] (soprano, alto, tenor, bass); got shape {grid.shape}")
    return check_grids(grid[None])[0]


def sounding_tokens(grids: np.ndarray) -> np.ndarray:
    """For every cell, the onset token of the note sounding there (REST where none sounds).

    Works on [..., T, 4]: a hold takes the token of the last non-hold cell before it, so an
    orphan hold (after a rest, or at t=0) becomes REST.
    """
    grids = np.asarray(grids)
    t = np.arange(grids.shape[-2]).reshape((grids.shape[-2], 1))  # (T, 1)
    last = np.where(grids != HOLD, t, 0)  # (..., T, 4) index of the cell itself, or 0 for holds
    last = np.maximum.accumulate(last, axis=-2)  # index of the last non-hold cell so far
    tokens = np.take_along_axis(grids, last, axis=-2)
    return np.where(tokens == HOLD, REST, tokens)  # t=0 holds point at themselves


def sounding_pitches(grids: np.ndarray) -> np.ndarray:
    """MIDI pitch sounding in each cell of [..., T, 4], -1 where the voice is silent."""
    tokens = sounding_tokens(grids)
    return np.where(tokens >= FIRST_PITCH_TOKEN, tokens - FIRST_PITCH_TOKEN + PITCH_LOW, -1)


def canonical(grids: np.ndarray) -> np.ndarray:
    """The same grid(s) with orphan holds (a hold with no note to continue) written as rests."""
    grids = np.asarray(grids)
    return np.where((grids == HOLD) & (sounding_tokens(grids) == REST), REST, grids)


def transpose(grid: np.ndarray, shift: int) -> np.ndarray | None:
    """``grid`` moved by ``shift`` semitones, or None when a note would leave PITCH_LOW..PITCH_HIGH."""
    onsets = grid >= FIRST_PITCH_TOKEN
    moved = np.where(onsets, grid + shift, grid)
    if onsets.any() and (moved[onsets].min() < FIRST_PITCH_TOKEN or moved[onsets].max() >= VOCAB):
        return None
    return moved


def windows(grids: list[np.ndarray] | np.ndarray, steps: int, hop: int) -> np.ndarray:
    """Every ``steps``-long window starting at multiples of ``hop``, made self-contained.

    A window that starts in the middle of a note would begin with a hold; it is replaced by the
    onset of the note that sounds there, so each window decodes to the music you hear in it.
    Grids shorter than ``steps`` give nothing. Returns int64 [N, steps, 4].
    """
    if steps < 1 or hop < 1:
        raise ValueError(f"steps and hop must be positive; got steps={steps}, hop={hop}")
    out = []
    for grid in grids:
        grid = np.asarray(grid, dtype=np.int64)
        if len(grid) < steps:
            continue
        starts = np.arange(0, len(grid) - steps + 1, hop)  # (W,)
        view = np.lib.stride_tricks.sliding_window_view(grid, steps, axis=0)[starts]  # (W, 4, steps)
        win = np.ascontiguousarray(view.transpose(0, 2, 1))  # (W, steps, 4)
        first = sounding_tokens(grid)[starts]  # (W, 4): what sounds at each window's first step
        win[:, 0] = np.where(win[:, 0] == HOLD, first, win[:, 0])
        out.append(win)
    if not out:
        return np.zeros((0, steps, len(VOICES)), dtype=np.int64)
    return np.concatenate(out)


def fragments(grids: list[np.ndarray] | np.ndarray, steps: int = FRAGMENT_STEPS,
              hop: int = STEPS_PER_BAR) -> np.ndarray:
    """Training/evaluation fragments, int64 [N, steps, 4]; the default hop keeps them bar-aligned."""
    return windows(grids, steps, hop)


def augment(grids: list[np.ndarray], piece_ids: list[str],
            shifts: tuple[int, ...] = TRANSPOSITIONS) -> ChoraleSplit:
    """Every transposition in ``shifts`` that keeps all notes of a piece inside the pitch range."""
    out_grids, out_ids, out_shifts = [], [], []
    for grid, pid in zip(grids, piece_ids):
        for shift in shifts:
            moved = transpose(grid, shift)
            if moved is not None:
                out_grids.append(moved)
                out_ids.append(pid)
                out_shifts.append(shift)
    return ChoraleSplit(out_grids, out_ids, np.asarray(out_shifts, dtype=np.int64))


# --- parsing the corpus (music21, imported lazily) ----------------------------------------------
def _steps(quarters: float, what: str) -> int:
    value = float(quarters) * STEPS_PER_QUARTER
    if abs(value - round(value)) > 1e-6:
        raise UnusablePiece("not on the 16th-note grid", f"{what} of {float(quarters)} quarters")
    return round(value)


def _check_layout(score) -> list:
    """The four parts in S, A, T, B order, after checking the score is a plain 4/4 chorale."""
    parts = list(score.parts)
    if len(parts) != 4:
        raise UnusablePiece("not 4 parts", f"{len(parts)} parts")
    names = [(p.partName or "").strip().lower() for p in parts]
    if any(names) and [n[:1] for n in names] != ["s", "a", "t", "b"]:
        raise UnusablePiece("parts are not S, A, T, B", str(names))
    meters = {ts.ratioString for ts in score.recurse().getElementsByClass("TimeSignature")}
    if meters != {"4/4"}:
        raise UnusablePiece("not 4/4 throughout", f"meters {sorted(meters)}")
    return parts


def _pickup_steps(part) -> int:
    """Rests to put in front so that bar lines fall on multiples of STEPS_PER_BAR.

    The second measure always starts on a downbeat; a pickup shorter than a bar shifts it.
    Full bars that still miss the grid afterwards (changed metre mid-piece) rule the piece out.
    """
    measures = list(part.getElementsByClass("Measure"))
    if len(measures) < 2:
        raise UnusablePiece("fewer than two measures", f"{len(measures)} measure(s)")
    pad = (-_steps(measures[1].offset, "measure offset")) % STEPS_PER_BAR
    for m in measures[1:]:
        full = _steps(m.duration.quarterLength, "measure length") == STEPS_PER_BAR
        if full and (_steps(m.offset, "measure offset") + pad) % STEPS_PER_BAR:
            raise UnusablePiece("a full bar off the downbeat grid", f"bar {m.number}")
    return pad


def _voice_events(part, pad: int) -> list[tuple[int, int, int | None, bool]]:
    """(start, length, midi or None for a rest, continues a tie) per event of one part."""
    events = []
    for el in part.flatten().notesAndRests:
        if el.duration.isGrace or el.quarterLength == 0:
            continue  # ornaments without notated duration
        if el.isChord:
            raise UnusablePiece("a chord inside one voice", f"at offset {float(el.offset)}")
        start = pad + _steps(el.offset, "onset")
        length = _steps(el.quarterLength, "duration")
        if el.isRest:
            events.append((start, length, None, False))
        else:
            tied = el.tie is not None and el.tie.type in ("stop", "continue")
            events.append((start, length, int(el.pitch.midi), tied))
    return events


def _write_voice(column: np.ndarray, events: list[tuple[int, int, int | None, bool]]) -> None:
    """Fill one voice's column of tokens in place."""
    written = np.zeros(len(column), dtype=bool)
    prev_pitch = None
    for start, length, midi, tied in events:
        if written[start : start + length].any():
            raise UnusablePiece("overlapping notes inside one voice", f"at step {start}")
        written[start : start + length] = True
        if midi is None:
            prev_pitch = None
            continue
        if not PITCH_LOW <= midi <= PITCH_HIGH:
            raise UnusablePiece("a pitch outside the range", f"MIDI {midi} not in {PITCH_LOW}..{PITCH_HIGH}")
        continues = tied and prev_pitch == midi and start > 0 and column[start - 1] != REST
        column[start] = HOLD if continues else FIRST_PITCH_TOKEN + midi - PITCH_LOW
        column[start + 1 : start + length] = HOLD
        prev_pitch = midi


def encode_score(score) -> np.ndarray:
    """A music21 Score -> int64 [T, 4] grid, T a whole number of bars; raises UnusablePiece."""
    parts = _check_layout(score)
    pad = _pickup_steps(parts[0])
    events = [_voice_events(p, pad) for p in parts]
    end = max((s + n for voice in events for s, n, _, _ in voice), default=0)
    steps = -(-end // STEPS_PER_BAR) * STEPS_PER_BAR  # round up to whole bars (trailing rests)
    grid = np.zeros((steps, 4), dtype=np.int64)
    for v, voice in enumerate(events):
        _write_voice(grid[:, v], voice)
    _check_voice_order(grid)
    return grid


def _check_voice_order(grid: np.ndarray) -> None:
    """Parts in score order must be S, A, T, B: mean pitches strictly falling (unnamed parts too)."""
    pitches = sounding_pitches(grid).astype(float)  # (T, 4), -1 = silent
    means = [col[col >= 0].mean() if (col >= 0).any() else np.nan for col in pitches.T]
    if not all(hi > lo for hi, lo in pairwise(means)):
        raise UnusablePiece("parts are not S, A, T, B", f"mean pitches {np.round(means, 1).tolist()}")


def chorale_ids() -> list[str]:
    """The distinct corpus paths of the Riemenschneider chorales (371 numbers, 350 files)."""
    from music21 import corpus

    return sorted(set(corpus.chorales.Iterator(returnType="filename")))


def parse_corpus(progress: bool = False) -> tuple[dict[str, np.ndarray], dict]:
    """Parse every chorale; returns ({piece id: grid}, report with what was dropped and why)."""
    try:
        import music21
        from music21 import corpus
    except ImportError as err:
        raise DataMissing(f"music21 is not installed ({err}); {SETUP_HINT}") from err
    ids = chorale_ids()
    if progress:
        from tqdm import tqdm

        ids = tqdm(ids, desc="parsing Bach chorales", unit="piece")
    grids, dropped, kinds = {}, {}, Counter()
    t0 = time.perf_counter()
    for pid in ids:
        try:
            grids[pid] = encode_score(corpus.parse(pid))
        except UnusablePiece as why:
            dropped[pid] = str(why)
            kinds[why.kind] += 1
    report = {
        "music21_version": music21.__version__,
        "parse_seconds": round(time.perf_counter() - t0, 1),
        "pieces_listed": len(grids) + len(dropped),
        "pieces_kept": len(grids),
        "dropped": dropped,
        "dropped_by_reason": dict(kinds.most_common()),
    }
    return grids, report


# --- the split ----------------------------------------------------------------------------------
def tune_key(grid: np.ndarray) -> str:
    """The soprano's melodic contour (intervals between its first 24 onsets), key-independent.

    Bach harmonised several hymn tunes more than once; grouping by tune keeps a melody from
    appearing in both train and valid.
    """
    col = grid[:, 0]
    pitches = col[col >= FIRST_PITCH_TOKEN][:25]
    return ",".join(map(str, np.diff(pitches).tolist()))


def split_pieces(piece_ids: list[str], grids: list[np.ndarray],
                 valid_fraction: float = VALID_FRACTION) -> tuple[list[str], list[str]]:
    """Deterministic (train ids, valid ids), whole tunes on one side.

    Tunes are ranked by a hash of their contour (independent of parse order and of which other
    pieces exist) and the first ones go to valid until it holds ``valid_fraction`` of the pieces.
    """
    groups: dict[str, list[str]] = {}
    for pid, grid in zip(piece_ids, grids):
        groups.setdefault(tune_key(grid), []).append(pid)
    ranked = sorted(groups.values(), key=lambda g: hashlib.sha1(min(g).encode()).hexdigest())
    target = round(valid_fraction * len(piece_ids))
    valid: list[str] = []
    for group in ranked:
        if len(valid) >= target:
            break
        valid.extend(group)
    valid_set = set(valid)
    return sorted(p for p in piece_ids if p not in valid_set), sorted(valid)


# --- the cache ----------------------------------------------------------------------------------
def _pack(grids: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    tokens = np.concatenate(grids).astype(np.uint8) if grids else np.zeros((0, 4), np.uint8)
    return tokens, np.asarray([len(g) for g in grids], dtype=np.int64)


def _unpack(tokens: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    full = tokens.astype(np.int64)  # (sum T, 4)
    return np.split(full, np.cumsum(lengths)[:-1]) if len(lengths) else []


def prepare(cache_dir: str | Path | None = None, progress: bool = False) -> Path:
    """Parse the corpus, split it and write the cache atomically; returns the cache path."""
    grids, report = parse_corpus(progress=progress)
    ids = sorted(grids)
    train_ids, valid_ids = split_pieces(ids, [grids[p] for p in ids])
    report["valid_ids"] = valid_ids
    report["tunes"] = len({tune_key(g) for g in grids.values()})
    lows = [g[g >= FIRST_PITCH_TOKEN].min() for g in grids.values()]
    highs = [g[g >= FIRST_PITCH_TOKEN].max() for g in grids.values()]
    report["midi_range"] = [int(min(lows)) - FIRST_PITCH_TOKEN + PITCH_LOW,
                            int(max(highs)) - FIRST_PITCH_TOKEN + PITCH_LOW]
    arrays = {}
    for name, split_ids in (("train", train_ids), ("valid", valid_ids)):
        arrays[f"{name}_tokens"], arrays[f"{name}_lengths"] = _pack([grids[p] for p in split_ids])
        arrays[f"{name}_ids"] = np.asarray(split_ids, dtype=str)
    arrays["report_json"] = np.asarray(json.dumps(report))
    path = Path(cache_dir or DEFAULT_CACHE_DIR) / CACHE_NAME

    def _write(tmp: str) -> None:
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        Path(tmp).write_bytes(buf.getvalue())

    return atomic_write(path, _write)


def cache_path(cache_dir: str | Path | None = None) -> Path:
    return Path(cache_dir or DEFAULT_CACHE_DIR) / CACHE_NAME


def _music21_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("music21") is not None


def _ensure_cache(cache_dir: str | Path | None, progress: bool) -> Path:
    path = cache_path(cache_dir)
    if path.exists():
        return path
    if not _music21_available():
        raise DataMissing(f"no cached Bach chorales at {path} and music21 is not installed; {SETUP_HINT}")
    return prepare(cache_dir, progress=progress)


def load_report(cache_dir: str | Path | None = None) -> dict:
    """What the preparation kept, dropped (and why), the held-out ids, parse time."""
    with np.load(_ensure_cache(cache_dir, progress=False)) as data:
        return json.loads(str(data["report_json"]))


def load_chorales(cache_dir: str | Path | None = None, augment_train: bool = True,
                  progress: bool = False) -> dict[str, ChoraleSplit]:
    """{"train": transposed copies of the train pieces, "valid": held-out pieces, original keys}.

    Reads the cache; builds it first (parsing with music21) when it is missing. Raises
    DataMissing, naming the set-up script, when neither the cache nor music21 is there.
    """
    with np.load(_ensure_cache(cache_dir, progress)) as data:
        arrays = {k: data[k] for k in data.files}
    splits = {}
    for name in ("train", "valid"):
        grids = _unpack(arrays[f"{name}_tokens"], arrays[f"{name}_lengths"])
        ids = arrays[f"{name}_ids"].tolist()
        if name == "train" and augment_train:
            splits[name] = augment(grids, ids)
        else:
            splits[name] = ChoraleSplit(grids, ids, np.zeros(len(grids), dtype=np.int64))
    return splits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parse and cache the Bach chorales (music21 corpus).")
    parser.add_argument("--cache-dir", default=None, help=f"default {DEFAULT_CACHE_DIR}")
    parser.add_argument("--force", action="store_true", help="re-parse even if the cache exists")
    args = parser.parse_args(argv)
    path = cache_path(args.cache_dir)
    if args.force or not path.exists():
        if not _music21_available():
            print(f"music21 is not installed; {SETUP_HINT}", file=sys.stderr)
            return 1
        prepare(args.cache_dir, progress=True)
    else:
        print(f"cache already there: {path} (use --force to rebuild)")
    t0 = time.perf_counter()
    splits = load_chorales(args.cache_dir)
    load_s = time.perf_counter() - t0
    report = load_report(args.cache_dir)
    print(f"Bach chorales -> {path}")
    print(f"  pieces: {report['pieces_kept']} kept of {report['pieces_listed']} "
          f"({report['tunes']} distinct tunes), parse {report['parse_seconds']} s, cache load {load_s:.2f} s")
    for reason, count in report["dropped_by_reason"].items():
        print(f"  dropped {count}: {reason}")
    for name, split in splits.items():
        n_pieces = len(set(split.piece_ids))
        print(f"  {name}: {n_pieces} pieces, {len(split)} grids, {sum(map(len, split.grids))} steps, "
              f"{len(fragments(split.grids))} fragments of {FRAGMENT_STEPS} steps (hop {STEPS_PER_BAR})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
