"""Text: Shakespeare generators, from data to tab. The record below registers the modality."""

from studio.registry.record import Modality
from studio.text.schema import SCHEMA

MODALITY = Modality(name="text", title="Text", schema=SCHEMA, package="studio.text",
                    sample_type="tensor(int64)")
