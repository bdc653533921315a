"""The Lab tab: pick data, a family and its stabilisers (or a preset), train for up to 90 s in a worker
process, and watch samples, curves and the collapse readout update twice a second."""

from __future__ import annotations

import functools
from typing import Any

import gradio as gr

from studio.image.data import CLASS_NAMES
from studio.lab import charts as lab_charts
from studio.lab.runs import LabBusy, LabRuns
from studio.lab.spec import (
    DATA,
    FAMILIES,
    KNOBS,
    MAX_SECONDS,
    PRESETS,
    STEPS_KNOB,
    VAE_LATENT,
    LabInputError,
    default_spec,
    fmt,
    preset_spec,
)
from studio.training.logs import curves_from_records
from studio.ui.controls import LooseDropdown, LooseNumber, keep_results, seed_box, status_line
from studio.ui.results import png_path

POLL_S = 0.4
KNOB_WIDTH = 190  # px: narrower, a knob's one-line reason wraps word by word


def lab_kind(spec: dict[str, Any]) -> str:
    return "images" if spec["data"] == "images" else "points"
TERMINAL = ("finished", "stopped", "failed", "unknown")
HEAT_LEGEND = {"gan": "Colours: the critic's score, red where it judges points real, blue where fake.",
               "flow": "Colours: the flow's log-density, yellow where it is high."}
INTRO = ("Train a small generator live and watch it succeed or fail: **mode collapse**, **posterior collapse** "
         "and **divergence**, each with its rescue. Pick a preset (or set the knobs), press **Train**, and "
         "watch the samples, the curves and the readout. A run trains for its number of steps (a preset's "
         "2,000 take about 20 seconds) in its own process with the project's training loop, stopping at the "
         "time limit if the machine is too slow; **Stop** ends it early, and **Save as ONNX** exports it like the "
         "trained models.")
KNOB_ORDER = [(family, knob) for family in KNOBS for knob in KNOBS[family]]  # as the tab shows them
#: Knobs added after /lab_train was published go last in its parameters, after the steps, so that calls written
#: for the older parameter list still mean what they meant (the new parameters take their defaults).
LATER_KNOBS = (("gan", "beta2"),)
API_KNOB_ORDER = ([(fam, knob) for fam, knob in KNOB_ORDER if (fam, knob.key) not in LATER_KNOBS]
                  + [(fam, knob) for fam, knob in KNOB_ORDER if (fam, knob.key) in LATER_KNOBS])
FIRST_LATER = len(KNOB_ORDER) - len(LATER_KNOBS)  # where the later knobs start in API_KNOB_ORDER


#: /lab_train's parameters, by name: the run to replace, the spec, the knobs in their published order, the steps,
#: then the knobs added later (knob keys are unique across families).
API_PARAMETERS = ("previous", "data", "family", "seed", "seconds",
                  *(knob.key for _, knob in API_KNOB_ORDER[:FIRST_LATER]), "steps",
                  *(knob.key for _, knob in API_KNOB_ORDER[FIRST_LATER:]))
FAMILY_OF = {knob.key: fam for fam, knob in KNOB_ORDER}


def spec_from(*values: object) -> dict[str, Any]:
    """The spec of /lab_train's parameters after ``previous``, in API_PARAMETERS' order; ones left out (a client
    written for an older parameter list) take their defaults."""
    spec: dict[str, Any] = {}
    for name, value in zip(API_PARAMETERS[1:], values):
        if name in FAMILY_OF:
            spec.setdefault(FAMILY_OF[name], {})[name] = value
        else:
            spec[name] = value
    return spec


def train_handler(runs: LabRuns) -> Any:
    """``start`` on ``runs`` as /lab_train, its parameters named after the knobs (the API shows these names)."""
    import inspect

    def lab_train(*values: object) -> tuple[str, gr.Timer]:
        return start(runs, *values)

    lab_train.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in API_PARAMETERS])
    return lab_train


def start(runs: LabRuns, previous: object, *values: object) -> tuple[str, gr.Timer]:
    """Queue a run of the knobs' spec; this page's previous run, if still going, is stopped first."""
    try:
        spec = spec_from(*values)
        run_id = runs.submit(spec)
        if previous:
            runs.stop(str(previous))
    except (LabInputError, LabBusy) as exc:
        raise gr.Error(str(exc)) from None
    return run_id, gr.Timer(active=True)


def stop(runs: LabRuns, run_id: object) -> str:
    if not run_id:
        raise gr.Error("There is no run to stop; press Train first.")
    runs.stop(str(run_id))
    view = runs.view(str(run_id))
    return status_text(view) if view["status"].get("state") in TERMINAL else "Stopping…"


def save(runs: LabRuns, run_id: object) -> gr.File:
    if not run_id:
        raise gr.Error("There is no run to save; press Train first.")
    try:
        return gr.File(str(runs.export(str(run_id))), visible=True)
    except RuntimeError as exc:
        raise gr.Error(str(exc)) from None


def events_text(log: list[dict[str, Any]]) -> str:
    lines = []
    for r in log:
        if r.get("event") == "rollback":
            lines.append(f"- step {r['failed_step']:,}: **rollback** to step {r['step']:,} ({r['reason']}); "
                         f"learning rate now ×{r['lr_scale']:g}")
        elif r.get("event") == "stopped":
            lines.append(f"- step {r['step']:,}: stopped")
    return "**Events**\n" + ("\n".join(lines) if lines else "- none yet (rollbacks and NaNs appear here)")


def status_text(view: dict[str, Any]) -> str:
    status = view["status"]
    state, message = status.get("state", "unknown"), status.get("message", "")
    frame = view.get("frame") or {}
    parts = [f"**{state.capitalize()}**"]
    needed = (view.get("spec") or {}).get("steps")
    if frame.get("step"):
        parts.append(f"step {frame['step']:,}" + (f" of {needed:,}" if needed else ""))
    if view.get("seconds_left") is not None and state == "running":
        parts.append(f"{view['seconds_left']:.0f} s left")
    if message and message not in ("training", "starting"):
        parts.append(f"**{message[0].upper()}{message[1:]}**" if status.get("capped") else message)
    return " · ".join(parts)


def curve_plots(curves: dict[str, Any]) -> list[gr.LinePlot]:
    """The live curves as updates of the tab's line plots; a panel the run logs nothing for is hidden."""
    return [gr.LinePlot(value=table, title=title, visible=len(table) > 0,
                        y_lim=[0, None] if title in ("learning-rate multiplier", "active latent units") else None)
            for title, table in lab_charts.curve_tables(curves)]


def poll(runs: LabRuns, run_id: object) -> tuple:
    """Status, samples picture, class histogram, readout text, losses chart, events, raw data, timer, then
    the other curves.
    Everything here is cheap (a numpy picture and tables the browser draws): the poll runs 2.5 times a
    second per viewer inside the app, beside the other tabs' requests."""
    if not run_id:
        first, *rest = curve_plots({})
        return ("Press **Train** to start a run.", None, gr.BarPlot(visible=False), "", first, events_text([]), {},
                gr.Timer(active=False), *rest)
    view = runs.view(str(run_id))
    spec, frame, state = view.get("spec") or default_spec(), view.get("frame"), view["status"].get("state")
    if spec["data"] == "images":
        grid = lab_charts.image_grid(frame)
        samples = png_path(grid, "lab-samples") if grid is not None else None
        table, readout = lab_charts.class_table(frame, CLASS_NAMES)
        bars = gr.BarPlot(value=table, visible=True)
    else:
        picture, readout = lab_charts.points_picture(frame, spec["data"], spec["family"])
        samples, bars = png_path(picture, "lab-samples"), gr.BarPlot(visible=False)
        if spec["family"] != "vae":
            readout += " " + HEAT_LEGEND[spec["family"]]
    log = view.get("log", [])
    evals = [r["eval"] for r in log if isinstance(r.get("eval"), dict)]
    active = evals[-1].get("active_units") if evals else None
    if active is not None:
        readout += f" Active latent units: **{active} of {VAE_LATENT[lab_kind(spec)]}** (0 or 1 is posterior collapse)."
    raw = {"state": state, "step": (frame or {}).get("step", 0), "readout": (frame or {}).get("readout"),
           "active_units": active, "message": view["status"].get("message", ""),
           "rollbacks": sum(1 for r in log if r.get("event") == "rollback")}
    first, *rest = curve_plots(curves_from_records(log))
    return (status_text(view), samples, bars, readout, first, events_text(log), raw,
            gr.Timer(active=state not in TERMINAL), *rest)


def apply_preset(name: str) -> list:
    """data, family, steps, the knobs in the tab's order, and the preset's note."""
    spec = preset_spec(name)
    values = [spec["data"], spec["family"], spec["steps"]] + [spec[fam][knob.key] for fam, knob in KNOB_ORDER]
    return values + [f"*{PRESETS[name]['why']} {spec['steps']:,} steps.*"]


def open_knobs(family: str) -> list[gr.Accordion]:
    """Open the chosen family's knobs and fold the others."""
    return [gr.Accordion(open=fam == family) for fam in KNOBS]


def knob_input(family: str, knob: Any) -> gr.components.Component:
    elem_id = f"lab-{family}-{knob.key}".replace("_", "-")
    if knob.kind == "bool":
        return gr.Checkbox(value=knob.default, label=knob.label, info=knob.why, elem_id=elem_id,
                           min_width=KNOB_WIDTH)
    if knob.kind == "choice":
        return LooseDropdown(list(knob.choices), value=knob.default, label=knob.label, info=knob.why,
                               elem_id=elem_id, min_width=KNOB_WIDTH)
    return LooseNumber(value=knob.default, label=f"{knob.label} ({fmt(knob.low)} to {fmt(knob.high)})", info=knob.why,
                         precision=0 if knob.kind == "int" else None, elem_id=elem_id, min_width=KNOB_WIDTH)


def can_train() -> bool:
    """The Lab trains with PyTorch, which the app-only install (requirements-app.txt) leaves out."""
    import importlib.util

    try:
        return importlib.util.find_spec("torch") is not None
    except ImportError:
        return False


def build_tab(runs: LabRuns | None) -> None:
    """The tab; without ``runs`` (no PyTorch here) it says how to get a Lab that trains."""
    gr.Markdown(INTRO, elem_id="lab-intro")
    if runs is None:
        gr.Markdown("**The Lab needs PyTorch, which this install leaves out** (`requirements-app.txt` serves the "
                    "committed generators only). Install the full stack with `bash scripts/setup.sh` and start "
                    "the app with `.venv/bin/python app.py`.", elem_id="lab-no-torch")
        return
    with gr.Row(equal_height=True):
        preset_buttons = [gr.Button(name, elem_id=f"lab-preset-{name.lower().replace(' ', '-')}", size="sm")
                          for name in PRESETS]
    preset_note = gr.Markdown("", elem_id="lab-preset-note")
    with gr.Row(equal_height=True):
        data = LooseDropdown([(title, key) for key, title in DATA.items()], value="ring", label="Data",
                               elem_id="lab-data")
        family = LooseDropdown([(title, key) for key, title in FAMILIES.items()], value="gan", label="Family",
                                 elem_id="lab-family")
        seed = seed_box(0, "Seed", "lab-seed")
        steps = LooseNumber(value=STEPS_KNOB.default, precision=0, elem_id="lab-steps",
                              label=f"Steps ({STEPS_KNOB.low:,.0f} to {STEPS_KNOB.high:,.0f})", info=STEPS_KNOB.why)
        seconds = LooseNumber(value=MAX_SECONDS, label=f"Time limit (5 to {MAX_SECONDS:g} s)", precision=0,
                                info="a safety cap: a run stops here even if its steps are not done",
                                elem_id="lab-seconds")
    knob_inputs, accordions, by_key = [], [], {}
    for fam, knobs in KNOBS.items():
        with gr.Accordion(f"{FAMILIES[fam]} knobs", open=fam == "gan", elem_id=f"lab-knobs-{fam}") as accordion:
            accordions.append(accordion)
            with gr.Row():
                for knob in knobs:
                    with gr.Column(min_width=KNOB_WIDTH):  # a checkbox ignores its own min_width
                        knob_inputs.append(knob_input(fam, knob))
                        by_key[(fam, knob.key)] = knob_inputs[-1]
    with gr.Row():
        train = gr.Button("Train", variant="primary", elem_id="lab-train")
        stop_button = gr.Button("Stop", variant="stop", elem_id="lab-stop")
        save_button = gr.Button("Save as ONNX", elem_id="lab-save")
    status = status_line("lab-status")
    run_id = gr.Textbox("", visible=False, elem_id="lab-run-id")
    with gr.Row():
        with gr.Column():
            samples = gr.Image(None, type="filepath", label="Samples", interactive=False, elem_id="lab-samples")
            readout = gr.Markdown("", elem_id="lab-readout")
            bars = gr.BarPlot(None, x="class", y="percent", sort=list(CLASS_NAMES), y_lim=[0, 100],
                              title="Class histogram of the run's samples (uniform: 10% each)",
                              y_title="% of samples", visible=False, elem_id="lab-classes")
            events = gr.Markdown(events_text([]), elem_id="lab-events")
        with gr.Column(elem_id="lab-curves"):
            plots = [gr.LinePlot(None, x="step", y="value", color="series", title=title, height=200,
                                 visible=False, elem_id=f"lab-curve-{i}")
                     for i, title in enumerate(lab_charts.LIVE_CURVES)]
    saved = gr.File(label="Exported generator (ONNX)", elem_id="lab-onnx", visible=False)
    with gr.Accordion("Raw run data (what the API returns)", open=False):
        raw = gr.JSON({}, elem_id="lab-raw")
    timer = gr.Timer(POLL_S, active=False)

    api_knobs = [by_key[(fam, knob.key)] for fam, knob in API_KNOB_ORDER]
    inputs = [data, family, seed, seconds, *api_knobs[:FIRST_LATER], steps, *api_knobs[FIRST_LATER:]]
    # The API's order from before the curves became browser charts: [4] was the curves picture, [6] the raw data.
    outputs = [status, samples, bars, readout, plots[0], events, raw, timer, *plots[1:]]
    family.change(open_knobs, [family], accordions, api_visibility="private", show_progress="hidden")
    for name, button in zip(PRESETS, preset_buttons):
        button.click(functools.partial(apply_preset, name), None, [data, family, steps, *knob_inputs, preset_note],
                     api_visibility="private")
    train.click(train_handler(runs), [run_id, *inputs], [run_id, timer], api_name="lab_train",
                concurrency_limit=4,
                **keep_results(status))
    timer.tick(functools.partial(poll, runs), [run_id], outputs, api_visibility="private", show_progress="hidden",
               concurrency_limit=8)
    gr.on([run_id.change], functools.partial(poll, runs), [run_id], outputs, api_name="lab_poll",
          show_progress="hidden", concurrency_limit=8)
    stop_button.click(functools.partial(stop, runs), [run_id], [status], api_name="lab_stop", concurrency_limit=4)
    save_button.click(functools.partial(save, runs), [run_id], [saved], api_name="lab_save", concurrency_limit=1,
                      **keep_results(status))
