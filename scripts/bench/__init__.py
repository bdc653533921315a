"""Measurement programs: each times or checks one claim and writes its result under docs/."""
