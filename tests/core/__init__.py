"""Tests of the core: the manifest, the runtime."""
