"""Marks shared by the text tests."""

import pytest

from studio.text.metrics import REFERENCE_DIR, TEXT_MODEL

needs_reference = pytest.mark.skipif(not (REFERENCE_DIR / TEXT_MODEL).exists(),
                                     reason="python scripts/train_reference.py --modality text")
