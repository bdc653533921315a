#!/usr/bin/env python
"""Train, export, evaluate and register a GAN generator: `python scripts/train_gan.py --modality image`.

Resumes from the last checkpoint by default (`--fresh` starts over). See `--help`.
"""



from studio.modalities import ALL
from studio.training.pipeline import main

if __name__ == "__main__":
    main("gan", ALL)
