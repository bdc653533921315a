"""Screenshots of every tab at a desktop and a phone width, through Debian's Chromium (playwright).

    python scripts/screenshots.py --widths 1400 --first-screen   # README's pictures, docs/screenshots/*.png
    python scripts/screenshots.py --url http://127.0.0.1:7860/ --out runs/screenshots   # whole pages
    python scripts/screenshots.py --widths 1400 --lab Rescued     # the Lab's live view, docs/screenshots/lab-1400.png

For each tab and width it also reports what a person would notice: whether the page scrolls sideways,
how many pictures and charts failed to load, and the text of any error toast. The browser tests call
``shoot`` and assert on that report.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from studio import REPO_ROOT

ROOT = REPO_ROOT
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TABS = ("Images", "Text", "Music", "Compare", "Evaluate")
WIDTHS = (1400, 400)

#: Images on the visible tab that the browser could not show (a broken or missing file).
BROKEN_IMAGES_JS = """() => [...document.querySelectorAll('img')]
  .filter(i => i.offsetParent !== null && i.complete && i.naturalWidth === 0).map(i => i.src)"""
#: Images on the visible tab with no alt text.
NO_ALT_JS = """() => [...document.querySelectorAll('img')]
  .filter(i => i.offsetParent !== null && !(i.alt || '').trim()).map(i => i.src)"""
#: Chart images on the visible tab that the browser has decoded.
CHARTS_JS = """() => [...document.querySelectorAll('.chart img')]
  .filter(i => i.offsetParent !== null && i.complete && i.naturalWidth > 0).length"""
#: Table cells holding one number that the browser broke over more than one line.
WRAPPED_NUMBERS_JS = """() => [...document.querySelectorAll('td, th')]
  .filter(c => c.offsetParent !== null && /^[-−≤]?\\s?[\\d.,]+$/.test(c.innerText.trim()))
  .filter(c => { const r = document.createRange(); r.selectNodeContents(c);
                 return new Set([...r.getClientRects()].map(x => Math.round(x.top))).size > 1; })
  .map(c => c.innerText.trim())"""
#: Gradio loads pictures lazily: scroll through the page so that every one is fetched before the shot.
SCROLL_JS = """async () => { for (let y = 0; y < document.body.scrollHeight; y += 600) {
  window.scrollTo(0, y); await new Promise(r => setTimeout(r, 60)); } window.scrollTo(0, 0); }"""


def open_tab(page, name: str) -> None:  # noqa: ANN001 - a playwright Page
    """Click a top-level tab. On a narrow page Gradio moves the tabs that don't fit into its "More tabs" menu."""
    page.wait_for_selector("[role=tablist]", timeout=60_000)  # the page may still be rendering
    tab = page.get_by_role("tab", name=name, exact=True).first
    if tab.count() and tab.is_visible():
        tab.click()
        return
    page.get_by_role("button", name="More tabs").first.click()
    page.get_by_role("button", name=name, exact=True).filter(visible=True).first.click()


@dataclass
class Shot:
    tab: str
    width: int
    path: Path
    page_width: int  # document.scrollWidth: more than the viewport means the page scrolls sideways
    broken_images: list[str]
    images_without_alt: list[str]
    charts: int  # chart images shown on the tab
    wrapped_numbers: list[str]  # numbers broken over two lines in a table


def shoot(url: str, out: Path, widths: tuple[int, ...] = WIDTHS, tabs: tuple[str, ...] = TABS,
          full_page: bool = True) -> list[Shot]:
    """A PNG of each tab at each width (the whole page, or what the first screen shows), in ``out``, and
    what each one shows."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for width in widths:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_selector("#grid-left img", timeout=60_000)
            for tab in tabs:
                open_tab(page, tab)
                page.wait_for_load_state("networkidle")
                page.evaluate(SCROLL_JS)
                page.wait_for_load_state("networkidle")
                time.sleep(0.5)  # let pictures decode and the layout settle
                path = out / f"{tab.lower()}-{width}.png"
                page.screenshot(path=str(path), full_page=full_page)
                shots.append(Shot(tab, width, path, page.evaluate("document.documentElement.scrollWidth"),
                                  page.evaluate(BROKEN_IMAGES_JS), page.evaluate(NO_ALT_JS),
                                  page.evaluate(CHARTS_JS), page.evaluate(WRAPPED_NUMBERS_JS)))
            page.close()
        browser.close()
    return shots


def shoot_lab(url: str, out: Path, preset: str, seconds: float, width: int = 1400) -> Path:
    """The Lab's live view (status, samples, readout and curves) after ``preset`` has trained ``seconds``."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"lab-{width}.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(url, wait_until="domcontentloaded")
        open_tab(page, "Lab")
        page.locator(f"#lab-preset-{preset.lower().replace(' ', '-')}").click()
        time.sleep(1)
        page.locator("#lab-train").click()
        time.sleep(seconds)
        page.screenshot(path=str(path), full_page=True)
        scrolled = page.evaluate("window.scrollY")
        top = page.locator("#lab-status").bounding_box()["y"] + scrolled
        boxes = [page.locator(f"#{elem}").bounding_box() for elem in ("lab-curves", "lab-events")]
        bottom = max(b["y"] + b["height"] for b in boxes if b) + scrolled
        page.locator("#lab-stop").click()
        browser.close()
    picture = Image.open(path)
    picture.crop((0, int(top) - 10, picture.width, int(bottom) + 10)).save(path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description="Screenshots of every tab at desktop and phone widths",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--url", help="a running app (default: launch one from this checkout)")
    parser.add_argument("--port", type=int, default=7961, help="port for the launched app")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS), help="viewport widths, px")
    parser.add_argument("--first-screen", action="store_true",
                        help="only what the first screen shows (smaller files, as README uses), not the whole page")
    parser.add_argument("--lab", metavar="PRESET", help="instead, the Lab's live view while PRESET trains")
    parser.add_argument("--lab-seconds", type=float, default=50, help="how long the Lab preset trains first")
    args = parser.parse_args()
    from studio.local_server import launch_app

    proc, url = (None, args.url) if args.url else launch_app(args.port)
    try:
        if args.lab:
            print(shoot_lab(url, args.out, args.lab, args.lab_seconds, args.widths[0]))
            return 0
        for shot in shoot(url, args.out, tuple(args.widths), full_page=not args.first_screen):
            overflow = "scrolls sideways" if shot.page_width > shot.width else "fits"
            print(f"{shot.path.relative_to(ROOT) if shot.path.is_relative_to(ROOT) else shot.path}: {overflow}, "
                  f"{shot.charts} charts, {len(shot.broken_images)} broken images, "
                  f"{len(shot.images_without_alt)} without alt text, {len(shot.wrapped_numbers)} numbers wrapped")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
