"""Music: Bach chorale generators, from data to tab. The record below registers the modality."""

from studio.modality import Modality
from studio.music.schema import SCHEMA

MODALITY = Modality(name="music", title="Music", schema=SCHEMA, package="studio.music",
                    sample_type="tensor(int64)")
