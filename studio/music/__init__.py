"""Music: Bach chorale generators, from data to tab. The record below registers the modality."""

from studio.music.schema import SCHEMA
from studio.registry.record import Modality

MODALITY = Modality(name="music", title="Music", schema=SCHEMA, package="studio.music",
                    sample_type="tensor(int64)")
