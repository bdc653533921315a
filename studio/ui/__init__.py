"""Shared app widgets and helpers: input checks, model descriptions and choices, the Compare data."""
