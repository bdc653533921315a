"""Generative Studio: train, export, serve and compare generative models."""

from pathlib import Path

__version__ = "0.1.0"

#: The checkout: trained/, the caches and the scripts live here. The editable install (scripts/setup.sh) and
#: `python app.py` both import the package from the checkout, so this is the folder holding app.py.
REPO_ROOT = Path(__file__).resolve().parent.parent
