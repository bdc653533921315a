"""Data loaders, one per modality, with provenance."""


class DataMissing(FileNotFoundError):
    """A data set is not installed; the message says how to install it."""
