"""What a user runs: the training, evaluation and set-up scripts (importable by the tests as ``scripts.*``)."""
