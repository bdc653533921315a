"""The throwaway PostgreSQL finds its system tools when a non-login shell's PATH lacks /usr/sbin."""

from __future__ import annotations

import shutil

import pytest

from studio.humaneval.pgtemp import PostgresMissing, system_tool


@pytest.mark.skipif(shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") is None,
                    reason="util-linux's runuser is not installed")
def test_runuser_is_found_without_sbin_on_path(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    found = system_tool("runuser")
    assert found.startswith("/") and found.endswith("/runuser")


def test_a_missing_tool_names_where_it_looked(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(PostgresMissing, match="no-such-tool.*/usr/sbin"):
        system_tool("no-such-tool")
