#!/usr/bin/env python
"""Train, export, evaluate and register a FLOW generator: `python scripts/train_flow.py --modality image`.

Resumes from the last checkpoint by default (`--fresh` starts over). See `--help`.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.modalities import ALL  # noqa: E402
from studio.training.pipeline import main  # noqa: E402

if __name__ == "__main__":
    main("flow", ALL)
