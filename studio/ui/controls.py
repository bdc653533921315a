"""Layout pieces every tab uses: a seed box with a 🎲 button, a status line that carries progress and
errors, strict model dropdowns, the event options that keep the last good result on screen, and the
training-curves section."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from studio.registry.record import DataMissing, Modality
from studio.registry.serving import ModelRegistry
from studio.ui import charts, compare
from studio.ui.first_screen import show_on_open
from studio.ui.inputs import MAX_SEED, parse_whole_number
from studio.ui.results import figure_path, remembered


class LooseSlider(gr.Slider):
    """A slider whose value reaches the handler as sent, unchecked: the handler checks it. Gradio's own range
    check answers "Value 0 is less than minimum value 1." (no field name) and fails with a hidden exception on
    text; the handlers' checks (studio.ui.inputs) name the field and the range instead. ``is_template`` keeps
    the browser's slider."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return payload


class LooseNumber(gr.Number):
    """A number box whose value reaches the handler as sent (see LooseSlider)."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return payload


class LooseDropdown(gr.Dropdown):
    """A strict dropdown in the browser (no typed values) whose value reaches the handler as sent, so an API
    call with an unknown model gets the handler's message ("Unknown model 'x'. Pick one of ...")."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return payload


class LooseCheckboxGroup(gr.CheckboxGroup):
    """Ticks whose value reaches the handler as sent (see LooseSlider): the handler names what it expects."""

    is_template = True

    def preprocess(self, payload: Any) -> Any:
        return payload


#: What a picture input hands its handler when the payload cannot be read (an API call sent text, a number or a
#: file outside the app's uploads): the handler answers with what to send instead.
UNREADABLE = "<unreadable>"


class _CheckedInPreprocess:
    """Gradio checks a picture input's payload against the component's data model before the handler runs, and
    answers a malformed one with a hidden exception. These inputs check it in ``preprocess`` instead, so an
    unreadable payload reaches the handler as UNREADABLE."""

    payload_model: Any  # the data model gradio would have checked
    gradio_class: type  # the gradio component whose browser side it uses

    def get_block_name(self) -> str:
        return self.gradio_class.__name__.lower()

    def get_block_class(self) -> str:
        return self.gradio_class.__name__.lower()

    @property
    def data_model(self) -> None:  # read by gradio's own check, which is skipped when this is None
        return None

    def api_info(self) -> dict[str, Any]:
        schema = self.payload_model.model_json_schema()
        schema["additional_description"] = schema.pop("description", None)
        return schema

    def preprocess(self, payload: Any) -> Any:
        if payload is None:
            return None
        try:
            return super().preprocess(self.payload_model.model_validate(payload, context={"validate_meta": True}))
        except Exception:  # noqa: BLE001 - any malformed payload is the same answer: unreadable
            return UNREADABLE


class CheckedImage(_CheckedInPreprocess, gr.Image):
    """An image upload whose unreadable payload reaches the handler as UNREADABLE."""

    payload_model, gradio_class = gr.Image.data_model, gr.Image


class CheckedImageEditor(_CheckedInPreprocess, gr.ImageEditor):
    """A painting canvas whose unreadable payload reaches the handler as UNREADABLE."""

    payload_model, gradio_class = gr.ImageEditor.data_model, gr.ImageEditor


#: Runs in the browser: a fresh random seed without a round trip to the server.
RANDOM_SEED_JS = f"() => Math.floor(Math.random() * {MAX_SEED})"


def seed_box(value: int, label: str, elem_id: str, scale: int = 2) -> gr.Number:
    """A seed number and, beside it, a 🎲 button that puts a random seed in it."""
    seed = LooseNumber(value=value, label=label, precision=0, minimum=0, maximum=MAX_SEED, elem_id=elem_id,
                         scale=scale, elem_classes=["seed"])
    dice = gr.Button("🎲", elem_id=f"{elem_id}-dice", scale=0, min_width=48, elem_classes=["dice"])
    dice.click(None, None, seed, js=RANDOM_SEED_JS, api_visibility="private")
    return seed


def status_line(elem_id: str) -> gr.Markdown:
    """An empty line under a button: progress shows here while a request runs, and an error badge if it
    fails, so the outputs keep the last good result (the toast says what to fix)."""
    return gr.Markdown("", elem_id=elem_id, elem_classes=["status"], min_height=24)


def model_dropdown(choices: list[tuple[str, str]], value: str | None, elem_id: str,
                   label: str = "Model") -> gr.Dropdown:
    """Only the listed models can be picked: typing filters the list, it never submits free text."""
    return LooseDropdown(choices, value=value, label=label, allow_custom_value=False, filterable=True,
                           elem_id=elem_id)


def chart_image(path: str | None, alt_text: str, elem_id: str) -> gr.Image:
    """A chart (a PNG file from studio.ui.charts) with its text summary as alt text."""
    return gr.Image(path, type="filepath", show_label=False, interactive=False, alt_text=alt_text,
                    buttons=["fullscreen", "download"], elem_id=elem_id, elem_classes=["chart"])


def keep_results(status: gr.components.Component) -> dict[str, Any]:
    """Event options: progress and errors on ``status`` instead of over the outputs."""
    return {"show_progress_on": [status]}


@remembered
def curves_chart(registry: ModelRegistry, model_id: str) -> tuple[str, str]:
    """(PNG path, text summary) of a model's training curves, drawn once per process."""
    figure, summary = charts.training_curves(registry.get(model_id).curves, model_id)
    return figure_path(figure, f"{model_id}-curves"), summary


def curves_section(registry: ModelRegistry, ids: list[str], prefix: str) -> None:
    """Training curves, one chart per model with its text summary, in a closed accordion. The charts are
    drawn when it is first opened (about a second for four models), not at start-up."""
    with gr.Accordion("Training curves: losses, gradient norms, D(real)/D(fake), learning rate and rollbacks",
                      open=False, elem_id=f"{prefix}-curves") as section:
        outputs: list[gr.components.Component] = []
        for model_id in ids:
            outputs.append(chart_image(None, f"{model_id}: training curves", f"{prefix}-curves-{model_id}"))
            outputs.append(gr.Markdown("", elem_id=f"{prefix}-curves-{model_id}-summary"))

    def draw() -> list:
        out: list = []
        for model_id in ids:
            path, summary = curves_chart(registry, model_id)
            out += [gr.update(value=path, alt_text=summary), f"*{summary}*"]
        return out

    section.expand(draw, None, outputs, api_visibility="private")


def metrics_section(registry: ModelRegistry, modality: Modality, chart_metrics: tuple[str, ...], prefix: str,
                    rescore_samples: int, api_name: str) -> None:
    """Best per metric (fits without scrolling), the full table, a grouped chart, and live re-scoring with
    progress on its own line (the recorded table stays visible until the new one arrives)."""
    heading = ("### Best per metric (recorded)\n↑ higher is better, ↓ lower is better, no arrow: closest to the "
               "held-out data (the *data* column) is best.\n\n")
    best = gr.Markdown(heading, elem_id=f"{prefix}-best", elem_classes=["metrics"])
    table = gr.Dataframe(None, label="All metrics, one row per model (scroll sideways for more)",
                         interactive=False, wrap=False, elem_id=f"{prefix}-table")
    chart = chart_image(None, f"{modality.title} metrics per model", f"{prefix}-chart")

    def recorded() -> tuple:
        table_value, chart_value, best_value = compare.comparison(registry, modality, chart_metrics)
        return heading + best_value, table_value, chart_value

    show_on_open([best, table, chart], recorded, f"{modality.name} metrics")
    with gr.Row(equal_height=True):
        seed_input = seed_box(1, "Re-score seed", f"{prefix}-rescore-seed")
        button = gr.Button(f"Re-score now ({rescore_samples:,} {modality.schema.sample_noun} per model)",
                           elem_id=f"{prefix}-rescore", scale=2)
    status = status_line(f"{prefix}-rescore-status")

    def rescore_now(seed: object, progress: gr.Progress = gr.Progress()) -> tuple[pd.DataFrame, object]:
        seed_n = parse_whole_number(seed, "Seed", 0, MAX_SEED)
        try:
            live = compare.rescore(registry, modality, rescore_samples, seed_n, progress=progress)
        except (FileNotFoundError, DataMissing) as exc:
            raise gr.Error(str(exc)) from None
        new_table, chart_path, _ = compare.comparison(registry, modality, chart_metrics, live)
        return new_table, chart_path

    button.click(rescore_now, [seed_input], [table, chart], api_name=api_name, concurrency_limit=1,
                 **keep_results(status))
