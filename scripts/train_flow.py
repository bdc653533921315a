#!/usr/bin/env python
"""Train, export, evaluate and register a FLOW generator: `python scripts/train_flow.py --modality image`.

Resumes from the last checkpoint by default (`--fresh` starts over). See `--help`.
"""



from studio.modalities import ALL
from studio.training.pipeline import main

if __name__ == "__main__":
    main("flow", ALL)
