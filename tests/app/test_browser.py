"""One real-browser test: Debian Chromium driven by playwright (never `playwright install`)."""

from __future__ import annotations

import os
import re

import pytest

from scripts.screenshots import CHROMIUM, CHROMIUM_FLAGS
from tests.conftest import ROOT, served_ids

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed "
                                 "(apt-get install chromium, as .ci/run does)")]


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


def _contrast(fg: str, bg: str) -> float:
    """WCAG contrast ratio of two CSS 'rgb(r, g, b)' colours."""
    def luminance(css: str) -> float:
        channels = [int(v) / 255 for v in re.findall(r"\d+", css)[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    hi, lo = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_controls_dice_hidden_inputs_strict_dropdowns_and_errors_that_keep_the_result(app_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server["url"], wait_until="domcontentloaded")
        # Samples are there before anyone clicks.
        expect(page.locator("#grid-left img")).to_be_visible(timeout=30_000)
        first = page.locator("#grid-left img").get_attribute("src")
        assert "seed 0" in page.locator("#grid-left img").get_attribute("alt")

        # The primary button passes WCAG AA (4.5:1) for its text.
        colours = page.locator("#generate-left").evaluate(
            "b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
        assert _contrast(*colours) >= 4.5, colours

        # 🎲 puts a random seed in the box; Generate then shows a new grid whose alt text names it.
        page.locator("#seed-left-dice").click()
        expect(page.locator("#seed-left input")).not_to_have_value("0")
        seed = page.locator("#seed-left input").input_value()
        page.locator("#generate-left").click()
        expect(page.locator("#grid-left img")).not_to_have_attribute("src", first, timeout=30_000)
        expect(page.locator("#grid-left img")).to_have_attribute("alt", re.compile(rf"seed {seed}\b"))
        good = page.locator("#grid-left img").get_attribute("src")

        # A bad seed: a message that says what to fix, and the last good grid stays on screen.
        page.locator("#seed-left input").fill("-5")
        page.locator("#generate-left").click()
        expect(page.get_by_text("Seed must be from 0")).to_be_visible(timeout=30_000)
        expect(page.locator("#grid-left img")).to_have_attribute("src", good)

        # Strict dropdowns: typed text that is no model does not become the value.
        box = page.locator("#model-right input")
        before = box.input_value()
        box.fill("music-vae")
        box.press("Enter")
        box.blur()
        expect(box).to_have_value(before)

        # Text: a line model hides the Transformer-only inputs.
        page.get_by_role("tab", name="Text").click()
        expect(page.locator("#text-prompt-left")).to_be_visible()
        expect(page.locator("#text-model-left input")).to_have_value("text-transformer")
        expect(page.locator("#text-model-right input")).to_have_value("text-vae")
        expect(page.locator("#text-output-left textarea")).not_to_have_value("", timeout=30_000)
        page.locator("#text-model-left input").click()
        page.get_by_role("option", name="text-vae").click()
        expect(page.locator("#text-prompt-left")).to_be_hidden(timeout=10_000)
        expect(page.locator("#text-lines-left")).to_be_visible()
        browser.close()


def test_screenshots_of_every_tab_fit_and_show_their_pictures(app_server):
    from scripts.screenshots import TABS, WIDTHS, shoot

    shots = shoot(app_server["url"], ROOT / "runs" / "screenshots")  # kept as artefacts of the run
    assert len(shots) == len(TABS) * len(WIDTHS)
    for shot in shots:
        where = f"{shot.tab} at {shot.width} px"
        assert shot.path.stat().st_size > 10_000, where
        assert shot.page_width <= shot.width, f"{where}: the page scrolls sideways ({shot.page_width} px)"
        assert not shot.broken_images, f"{where}: pictures that did not load: {shot.broken_images[:3]}"
        assert not shot.images_without_alt, f"{where}: pictures without alt text: {shot.images_without_alt[:3]}"
        assert not shot.wrapped_numbers, f"{where}: numbers broken over two lines: {shot.wrapped_numbers[:5]}"
        if shot.tab in ("Images", "Compare"):
            assert shot.charts >= 2, f"{where}: {shot.charts} charts shown"


def test_lab_preset_trains_live_and_stops(app_server):
    from playwright.sync_api import expect, sync_playwright

    src = "() => { const i = document.querySelector('#lab-samples img'); return i && i.complete && i.naturalWidth > 0" \
          " ? i.src : null; }"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server["url"], wait_until="domcontentloaded")
        page.get_by_role("tab", name="Lab").click()
        page.locator("#lab-preset-mode-collapse").click()
        expect(page.locator("#lab-preset-note")).to_contain_text("nothing to stabilise", timeout=10_000)
        page.locator("#lab-train").click()
        first = page.wait_for_function(src, timeout=60_000).json_value()
        page.wait_for_function(f"() => ({src})() && ({src})() !== {first!r}", timeout=20_000)  # the scatter moves
        lines = "() => document.querySelectorAll('#lab-curves svg path').length"  # the browser draws the curves
        drawn = page.wait_for_function(f"() => ({lines})() > 0 ? ({lines})() : null", timeout=20_000).json_value()
        page.wait_for_function(f"() => ({lines})() > 0", timeout=20_000)
        assert drawn > 0
        expect(page.locator("#lab-readout")).to_contain_text("Modes covered")
        page.locator("#lab-stop").click()
        expect(page.locator("#lab-status")).to_contain_text("Stopped", timeout=20_000)
        browser.close()


def test_evaluate_tab_judge_compare_and_leaderboard_for_every_modality(app_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server["url"], wait_until="domcontentloaded")
        page.get_by_role("tab", name="Evaluate").click()
        # Opening the tab shows a first item and pair, before anyone presses Next.
        expect(page.locator("#eval-image-item img")).to_be_visible(timeout=30_000)
        expect(page.locator("#eval-image-pair-question")).to_contain_text("Which is better", timeout=30_000)
        for name, title in (("image", "Images"), ("text", "Text"), ("music", "Music")):
            # Opening a modality's tab shows its first item and pair: answer them without pressing Next.
            page.locator("#tab-evaluate").get_by_role("tab", name=title, exact=True).click()
            expect(page.locator(f"#eval-{name}-question")).to_contain_text("real or generated", timeout=30_000)
            expect(page.locator(f"#eval-{name}-pair-question")).to_contain_text("Which is better", timeout=30_000)
            page.locator(f"#eval-{name}-real").click()
            expect(page.locator(f"#eval-{name}-truth")).to_contain_text("It was", timeout=20_000)
            page.locator(f"#eval-{name}-vote-tie").click()
            expect(page.locator(f"#eval-{name}-reveal")).to_contain_text(f"Left was {name}-", timeout=20_000)
            # Next item / Next pair: a new one, the last answer cleared once it is there.
            page.locator(f"#eval-{name}-next").click()
            expect(page.locator(f"#eval-{name}-truth")).to_have_text("", timeout=30_000)
            page.locator(f"#eval-{name}-generated").click()
            expect(page.locator(f"#eval-{name}-truth")).to_contain_text("It was", timeout=20_000)
            page.locator(f"#eval-{name}-next-pair").click()
            expect(page.locator(f"#eval-{name}-reveal")).to_have_text("", timeout=30_000)
            page.locator(f"#eval-{name}-vote-left").click()
            expect(page.locator(f"#eval-{name}-reveal")).to_contain_text(f"Left was {name}-", timeout=20_000)
            page.locator(f"#eval-{name}-refresh").click()
            expect(page.locator(f"#eval-{name}-board")).to_contain_text(f"{name}-", timeout=20_000)
            expect(page.locator(f"#eval-{name}-reading")).to_contain_text("pairwise votes")
        browser.close()


@pytest.mark.skipif("image-vae-steer" not in served_ids("image"), reason="no image model completes pictures yet")
def test_paint_a_region_and_get_completions(app_server):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_server["url"], wait_until="domcontentloaded")
        page.locator("#complete-canvas button[aria-label='Brush']").click()
        canvas = page.locator("#complete-canvas canvas").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box, "the painting canvas is not shown"
        # A brush stroke across the upper part of the picture (shown at the canvas's centre); painting picks
        # "my strokes" by itself.
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(cx - 120, cy - 60)
        page.mouse.down()
        for step in range(1, 11):
            page.mouse.move(cx - 120 + 24 * step, cy - 60, steps=3)
        page.mouse.up()
        expect(page.locator("#complete-region input[value='my strokes']")).to_be_checked(timeout=10_000)
        page.locator("#complete-run").click()
        expect(page.locator("#complete-note")).to_contain_text("pixels hidden", timeout=30_000)
        page.wait_for_function("() => { const i = document.querySelector('#complete-result img');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=30_000)
        note = page.locator("#complete-note").inner_text()
        hidden = int(re.search(r"(\d+) of 784 pixels hidden", note).group(1))
        assert 0 < hidden < 784
        browser.close()
