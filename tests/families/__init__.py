"""Tests of every family over every recipe: gradients, training, export parity."""
