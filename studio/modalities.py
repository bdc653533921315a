"""The registered modalities. Adding one is a new package with a ``MODALITY`` record, and a line here."""

from __future__ import annotations

from studio import image, music, text
from studio.registry.record import Modality

ALL: tuple[Modality, ...] = (image.MODALITY, text.MODALITY, music.MODALITY)
BY_NAME: dict[str, Modality] = {m.name: m for m in ALL}
