"""Tests of the image modality: data, protocol."""
