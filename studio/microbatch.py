"""Concurrent calls of one generator run as one batch (opt-in: STUDIO_MICROBATCH=1).

The first caller to arrive waits ``window`` seconds for others, then runs everyone's noise in one
session call and hands each caller its own rows. A one-shot generator's rows do not depend on the
other rows of its batch (its uint8 / int64 samples are bitwise the same at any batch size; the tests
check it), so a seed still gives the same picture under load.

Off by default: ``python scripts/bench/bench_microbatch.py`` measured it at 50 concurrent clients, and on a
2-core CPU the generator's own time is a few percent of a request's, so it did not pay (docs/microbatch.md).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

ENV = "STUDIO_MICROBATCH"


def enabled() -> bool:
    return os.environ.get(ENV, "0") == "1"


@dataclass
class _Request:
    z: np.ndarray
    done: threading.Event = field(default_factory=threading.Event)
    result: np.ndarray | None = None
    error: BaseException | None = None


class MicroBatcher:
    """Wraps ``run`` (noise float32 [n, z_dim] -> samples [n, ...]) so that concurrent calls share one run."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], window: float = 0.003, max_rows: int = 256):
        self._run = run
        self.window = window
        self.max_rows = max_rows
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._leader_waiting = False
        self.requests_served = 0  # for the tests

    def __call__(self, z: np.ndarray) -> np.ndarray:
        if len(z) >= self.max_rows:
            return self._run(z)  # already a full batch
        request = _Request(z)
        with self._lock:
            self._pending.append(request)
            lead = not self._leader_waiting
            if lead:
                self._leader_waiting = True
        if lead:
            time.sleep(self.window)  # let the others who arrive now join this batch
            with self._lock:
                group, self._pending = self._pending, []
                self._leader_waiting = False
            self._serve(group)
        request.done.wait()
        if request.error is not None:
            raise request.error
        assert request.result is not None
        return request.result

    def _serve(self, group: list[_Request]) -> None:
        try:
            out = self._run(np.concatenate([r.z for r in group], axis=0))
            start = 0
            for r in group:
                r.result = out[start:start + len(r.z)]
                start += len(r.z)
        except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error, none hangs
            for r in group:
                r.error = exc
        finally:
            self.requests_served += len(group)
            for r in group:
                r.done.set()
