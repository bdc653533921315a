"""Images: Fashion-MNIST generators, from data to tab. The record below registers the modality."""

from studio.image.schema import SCHEMA
from studio.registry.record import Modality

MODALITY = Modality(name="image", title="Images", schema=SCHEMA, package="studio.image",
                    sample_type="tensor(uint8)")
