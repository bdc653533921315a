"""Every relative link in README and the pages under docs/ resolves to a file in the checkout, and README's
model table is the one scripts/model_table.py writes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold commands, not links
    return [t for t in LINK.findall(text) if not re.match(r"^(https?:|mailto:|#)", t)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = [t for t in relative_links(page) if not (page.parent / t.split("#")[0]).resolve().exists()]
    assert not broken, f"{page.relative_to(ROOT)}: {broken}"


def test_the_link_check_finds_links_and_catches_a_broken_one(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("[ok](page.md) [gone](missing.md) ![pic](nope.png) [web](https://example.org) [top](#x)")
    assert relative_links(page) == ["page.md", "missing.md", "nope.png"]
    assert len(relative_links(ROOT / "README.md")) >= 10


def test_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


def test_readme_model_table_is_the_generated_one():
    from scripts.model_table import README_END, README_START, readme_block
    from studio.registry import manifest

    text = (ROOT / "README.md").read_text()
    shown = text[text.index(README_START):text.index(README_END) + len(README_END)]
    assert shown == readme_block(manifest.TRAINED_DIR), "run: python scripts/model_table.py --readme"
    assert shown.count("\n| ") == 1 + len(manifest.entries())  # the header row and one row per model
