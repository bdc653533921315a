"""Tests of the text modality: data, metrics, models."""
