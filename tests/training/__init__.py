"""Tests of the training loop and the train -> register pipeline."""
