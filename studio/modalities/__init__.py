"""Encode, decode and render samples, one module per modality."""
