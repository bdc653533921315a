"""Training: the one loop, recipes and presets, the pipeline (train -> export -> evaluate -> register), model cards."""
