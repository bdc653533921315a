"""One real-browser test: Debian Chromium driven by playwright (never `playwright install`)."""

from __future__ import annotations

import os
import re

import pytest

from tests.conftest import CHROMIUM, served_ids

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed "
                                 "(apt-get install chromium, as .ci/run does)")]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_click_generate_shows_an_image(app_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        outside = []
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(
            (app_server["url"], "data:", "blob:")) else None)
        page.goto(app_server["url"], wait_until="domcontentloaded")
        page.locator("#generate-left").click()
        image = page.locator("#grid-left img")
        expect(image).to_be_visible(timeout=30_000)
        # The picture really loaded: the browser decoded it to a non-zero size.
        page.wait_for_function("() => { const i = document.querySelector('#grid-left img');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
        page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
        browser.close()
    assert not outside, f"the page made requests outside the app: {outside[:5]}"


def test_compare_generate_all_shows_every_grid(app_server):
    import json

    from playwright.sync_api import expect, sync_playwright

    data = json.loads((app_server["trained"] / "manifest.json").read_text())
    broken = ("image-corrupt", "image-missing")
    good = [e["id"] for e in data["models"] if e["modality"] == "image" and e["id"] not in broken]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server["url"], wait_until="domcontentloaded")
        page.get_by_role("tab", name="Compare").click()
        page.locator("#compare-generate-all").click()
        for model_id in good:
            expect(page.locator(f"#compare-grid-{model_id} img")).to_be_visible(timeout=30_000)
        browser.close()


def test_text_tab_streams_a_continuation_of_the_prompt(app_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server["url"], wait_until="domcontentloaded")
        page.get_by_role("tab", name="Text").click()
        page.locator("#text-model-left input").fill("text-transformer")
        page.locator("#text-model-left input").press("Enter")
        page.locator("#text-prompt-left textarea").fill("HAMLET.\n")
        page.locator("#text-generate-left").click()
        output = page.locator("#text-output-left textarea")
        # The prompt comes back first, followed by new characters.
        expect(output).to_have_value(re.compile(r"^HAMLET\.\n.{20,}", re.S), timeout=30_000)
        browser.close()


@pytest.mark.skipif(not served_ids("music"), reason="no music models in trained/ yet")
def test_music_tab_generate_shows_a_player_and_a_piano_roll(app_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server["url"], wait_until="domcontentloaded")
        page.get_by_role("tab", name="Music").click()
        page.locator("#music-generate-left").click()
        roll = page.locator("#music-roll-left img")
        expect(roll).to_be_visible(timeout=60_000)
        page.wait_for_function("() => { const i = document.querySelector('#music-roll-left img');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
        # The player holds the WAV the server wrote: an <audio> element (playwright's CSS reaches into the
        # waveform player's shadow DOM) whose source the browser has loaded, and a play button.
        expect(page.locator("#music-audio-left button[aria-label='Play']")).to_be_visible(timeout=30_000)
        audio = page.locator("#music-audio-left audio")
        loaded = "els => els.some(a => a.currentSrc && a.duration > 1)"
        for _ in range(150):
            if audio.evaluate_all(loaded):
                break
            page.wait_for_timeout(200)
        assert audio.evaluate_all(loaded), "no <audio> element loaded the generated WAV"
        expect(page.locator("#music-midi-left")).to_contain_text(".mid")
        browser.close()
