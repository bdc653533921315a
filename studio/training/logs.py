"""The training log (JSON lines) and the curves read from it. No torch here: the app reads these too."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

LOG = "log.jsonl"


def read_log(path: str | Path) -> list[dict[str, Any]]:
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def curves_from_log(path: str | Path, max_points: int = 400) -> dict[str, Any]:
    """Loss curves for the card and the app: {term: [[step, value], ...]}, thinned to max_points."""
    return curves_from_records(read_log(path), max_points)


def curves_from_records(records: list[dict[str, Any]], max_points: int = 400) -> dict[str, Any]:
    """``curves_from_log`` for log records already read."""
    series: dict[str, list[list[float]]] = {}
    for r in records:
        if "event" in r:
            continue
        for key, val in r.items():
            if key == "step":
                continue
            if isinstance(val, dict):
                for k2, v2 in val.items():
                    series.setdefault(f"eval/{k2}", []).append([r["step"], v2])
            elif isinstance(val, (int, float)):
                series.setdefault(key, []).append([r["step"], val])
    thinned = {}
    for key, points in series.items():
        stride = max(1, math.ceil(len(points) / max_points))
        # Average within each stride so thinning does not alias GAN noise.
        thinned[key] = [
            [points[min(i + stride, len(points)) - 1][0],
             sum(p[1] for p in points[i : i + stride]) / len(points[i : i + stride])]
            for i in range(0, len(points), stride)
        ]
    events = [r for r in records if "event" in r]
    return {"series": thinned, "events": events}
