#!/usr/bin/env python
"""Train, export, evaluate and register a VAE generator: `python scripts/train_vae.py --modality image`.

Resumes from the last checkpoint by default (`--fresh` starts over). See `--help`.
"""



from studio.modalities import ALL
from studio.training.pipeline import main

if __name__ == "__main__":
    main("vae", ALL)
