"""Tests of the command-line scripts and the install paths README prints."""
