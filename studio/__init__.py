"""Generative Studio: train, export, serve and compare generative models."""

__version__ = "0.1.0"
