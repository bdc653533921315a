"""Music grids <-> notes <-> standard MIDI files. Numpy only.

Grids are int [T, 4] token arrays as defined in ``studio.music.data``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

import numpy as np

from studio.music.data import (
    FIRST_PITCH_TOKEN,
    HOLD,
    PITCH_HIGH,
    PITCH_LOW,
    REST,
    STEPS_PER_QUARTER,
    VOICES,
    check_grid,
)


class Note(NamedTuple):
    voice: int  # 0 soprano .. 3 bass
    start: int  # 16th-note step
    length: int  # in steps, >= 1
    pitch: int  # MIDI


# --- notes --------------------------------------------------------------------------------------
def grid_to_notes(grid: np.ndarray) -> list[Note]:
    """Every note of a grid, ordered by voice then start. Orphan holds (nothing to hold) are silence."""
    grid = check_grid(grid)
    notes = []
    for v in range(grid.shape[1]):
        col = grid[:, v]
        onsets = np.flatnonzero(col >= FIRST_PITCH_TOKEN)  # (K,)
        for start in onsets:
            end = start + 1
            while end < len(col) and col[end] == HOLD:
                end += 1
            notes.append(Note(v, int(start), int(end - start), int(col[start] - FIRST_PITCH_TOKEN + PITCH_LOW)))
    return notes


def notes_to_grid(notes: list[tuple[int, int, int, int]], steps: int | None = None) -> np.ndarray:
    """(voice, start, length, midi) notes -> int64 [steps, 4]; ``steps`` defaults to the last note's end.

    Raises ValueError for a pitch outside PITCH_LOW..PITCH_HIGH or two notes overlapping in one
    voice, instead of silently dropping or clipping them.
    """
    notes = [Note(*map(int, n)) for n in notes]
    end = max((n.start + n.length for n in notes), default=0)
    steps = end if steps is None else steps
    if end > steps:
        raise ValueError(f"notes run to step {end} but the grid has only {steps} steps")
    grid = np.full((steps, len(VOICES)), REST, dtype=np.int64)
    for n in notes:
        if not 0 <= n.voice < len(VOICES) or n.start < 0 or n.length < 1:
            raise ValueError(f"bad note {n}: voice 0..3, start >= 0, length >= 1")
        if not PITCH_LOW <= n.pitch <= PITCH_HIGH:
            raise ValueError(f"note {n} is outside the grid's pitch range {PITCH_LOW}..{PITCH_HIGH}")
        span = grid[n.start : n.start + n.length, n.voice]
        if (span != REST).any():
            raise ValueError(f"note {n} overlaps another note of voice {VOICES[n.voice]}")
        span[0] = FIRST_PITCH_TOKEN + n.pitch - PITCH_LOW
        span[1:] = HOLD
    return grid


# --- standard MIDI files (written and read by hand: no extra dependency) -------------------------
TICKS_PER_QUARTER = 480
TICKS_PER_STEP = TICKS_PER_QUARTER // STEPS_PER_QUARTER
MIDI_PROGRAM = 52  # General MIDI "Choir Aahs": the chorales are sung
MIDI_VELOCITY = 80


def _vlq(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track(events: list[tuple[int, int, bytes]], end_tick: int) -> bytes:
    """MTrk chunk from (tick, order, message) events; order puts note-offs before note-ons."""
    body, now = bytearray(), 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        body += _vlq(tick - now) + msg
        now = tick
    body += _vlq(max(end_tick - now, 0)) + b"\xff\x2f\x00"  # end of track at the grid's end
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def _meta(kind: int, data: bytes) -> bytes:
    return bytes([0xFF, kind]) + _vlq(len(data)) + data


def to_midi_bytes(grid: np.ndarray, tempo_bpm: float = 100.0) -> bytes:
    """A format-1 standard MIDI file: a tempo track, then one track (and channel) per voice.

    The end-of-track events sit at the grid's last step, so trailing rests survive a round trip.
    """
    grid = check_grid(grid)
    end_tick = len(grid) * TICKS_PER_STEP
    usec_per_quarter = round(60_000_000 / tempo_bpm)
    conductor = [(0, 0, _meta(0x03, b"Generative Studio chorale")),
                 (0, 1, _meta(0x51, usec_per_quarter.to_bytes(3, "big"))),
                 (0, 2, _meta(0x58, bytes([4, 2, 24, 8])))]  # 4/4, 24 clocks per click, 8 32nds per quarter
    tracks = [_track(conductor, end_tick)]
    notes = grid_to_notes(grid)
    for v, name in enumerate(VOICES):
        events = [(0, 0, _meta(0x03, name.encode())), (0, 1, bytes([0xC0 | v, MIDI_PROGRAM]))]
        for n in (n for n in notes if n.voice == v):
            events.append((n.start * TICKS_PER_STEP, 3, bytes([0x90 | v, n.pitch, MIDI_VELOCITY])))
            events.append(((n.start + n.length) * TICKS_PER_STEP, 2, bytes([0x80 | v, n.pitch, 0])))
        tracks.append(_track(events, end_tick))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), TICKS_PER_QUARTER)
    return header + b"".join(tracks)


def _chunks(data: bytes):
    pos = 0
    while pos + 8 <= len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        if pos + 8 + length > len(data):
            raise ValueError(f"truncated MIDI file: chunk {kind!r} needs {length} bytes")
        yield kind, data[pos + 8 : pos + 8 + length]
        pos += 8 + length


def _read_vlq(buf: bytes, pos: int) -> tuple[int, int]:
    value = 0
    while True:
        byte = buf[pos]
        pos += 1
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            return value, pos


def _track_notes(body: bytes) -> tuple[list[tuple[int, int, int, int]], int]:
    """(channel, pitch, on tick, off tick) per note of one MTrk, and the track's last tick."""
    pos, tick, status = 0, 0, 0
    open_notes: dict[tuple[int, int], list[int]] = {}
    notes = []
    while pos < len(body):
        delta, pos = _read_vlq(body, pos)
        tick += delta
        if body[pos] & 0x80:
            status = body[pos]
            pos += 1
        elif not status:
            raise ValueError("MIDI data byte without a status byte")
        if status == 0xFF:  # meta event: type, length, data
            length, pos = _read_vlq(body, pos + 1)
            pos += length
            status = 0  # meta/sysex cancel running status
        elif status in (0xF0, 0xF7):  # sysex
            length, pos = _read_vlq(body, pos)
            pos += length
            status = 0
        else:
            kind, channel = status & 0xF0, status & 0x0F
            size = 1 if kind in (0xC0, 0xD0) else 2
            data = body[pos : pos + size]
            pos += size
            if kind == 0x90 and data[1] > 0:
                open_notes.setdefault((channel, data[0]), []).append(tick)
            elif kind in (0x80, 0x90):  # note-off, or note-on with velocity 0
                starts = open_notes.get((channel, data[0]))
                if starts:
                    notes.append((channel, data[0], starts.pop(0), tick))
    return notes, tick


def _voices(fmt: int, tracks: list[list[tuple[int, int, int, int]]]) -> list[list[tuple[int, int, int, int]]]:
    """The four voices' notes: format 0 by channel; format 1 by track, skipping a note-less
    conductor track in front (silent voices keep their empty track)."""
    if fmt == 0 and len(tracks) == 1:
        channels = sorted({n[0] for n in tracks[0]})
        tracks = [[n for n in tracks[0] if n[0] == c] for c in channels]
    elif len(tracks) == len(VOICES) + 1 and not tracks[0]:
        tracks = tracks[1:]
    elif len(tracks) != len(VOICES):
        tracks = [t for t in tracks if t]
    if len(tracks) != len(VOICES):
        raise ValueError(f"expected 4 voices (tracks, or channels of a format-0 file), found {len(tracks)}")
    return tracks


def midi_bytes_to_grid(data: bytes) -> np.ndarray:
    """Read a standard MIDI file back into an int64 [T, 4] grid.

    Voices are the four tracks that hold notes, top to bottom in file order (format 1), or the
    four channels used (format 0). Times are rounded to the nearest 16th note; T runs to the
    last end-of-track, so a file written by ``to_midi_bytes`` comes back exactly.
    """
    if data[:4] != b"MThd":
        raise ValueError("not a standard MIDI file (no MThd header)")
    chunks = list(_chunks(data))
    fmt, _, division = struct.unpack(">HHH", chunks[0][1][:6])
    if division & 0x8000:
        raise ValueError("SMPTE-timed MIDI files are not supported; save with ticks per quarter note")
    try:
        tracks = [_track_notes(body) for kind, body in chunks[1:] if kind == b"MTrk"]
    except IndexError as err:
        raise ValueError("corrupt MIDI track: an event runs past the end of its chunk") from err
    last_tick = max((end for _, end in tracks), default=0)
    per_step = division / STEPS_PER_QUARTER
    notes = []
    for v, voice_notes in enumerate(_voices(fmt, [notes for notes, _ in tracks])):
        for _, pitch, on, off in voice_notes:
            start = round(on / per_step)
            notes.append(Note(v, start, max(round(off / per_step) - start, 1), pitch))
    last_step = max([round(last_tick / per_step)] + [n.start + n.length for n in notes])
    return notes_to_grid(notes, steps=last_step)
