"""Tests of the music modality: data, rendering, metrics, models."""
