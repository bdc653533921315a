"""Tests of the web app: handlers through a launched server, Compare data, the browser."""
