"""Generative Studio web app: serve the generators in trained/ through ONNX Runtime, one tab per modality.

    python app.py            # http://127.0.0.1:7860
    python app.py --share    # also ask Gradio for a public link

Generation runs from the committed ONNX files; only the Music tab's audio rendering uses torchaudio,
warmed up in the background at start-up. ``--help`` answers before anything heavy is imported.
"""

from __future__ import annotations

import argparse
import os

# Before gradio is imported: no analytics, no telemetry, no calls home.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TITLE = "Generative Studio"
INTRO = ("# Generative Studio\n"
         "Small generative models, trained by this project's own scripts, make **pictures of clothes** "
         "(Fashion-MNIST), **lines of Shakespeare** and **Bach chorales**.\n\n"
         "Four families learn in four ways: a **GAN** (a generator against a critic), a **VAE** (compress to a "
         "code, then rebuild), a **flow** (an invertible map from noise) and a **Transformer** (one token at "
         "a time).\n\n"
         "Pick two models in a tab and press **Generate** to compare them on the same seed; **Compare** puts "
         "every model side by side with its measured quality and training curves.")

#: Numbers stay on one line (no "0.65" broken into "0." and "65" on a phone); wide tables scroll inside
#: their own box; the status line under each button stays compact.
CSS = """
.metrics td, .metrics th, .table-wrap td, .table-wrap th { word-break: normal !important;
  overflow-wrap: normal !important; hyphens: none; }
.metrics, .table-wrap { overflow-x: auto; max-width: 100%; }
.status { min-height: 1.5em; }
.dice { font-size: 1.2em; }
"""


def theme():  # noqa: ANN201 - a gradio theme
    """Gradio's default look with a darker primary colour: white on indigo-600 is 6.3:1, where white on the
    default orange was about 2.8:1 (WCAG AA asks 4.5:1 for text)."""
    import gradio as gr

    return gr.themes.Default(primary_hue="indigo").set(
        button_primary_background_fill="*primary_600", button_primary_background_fill_hover="*primary_700",
        button_primary_text_color="white", button_primary_background_fill_dark="*primary_600",
        button_primary_text_color_dark="white")


def build_demo(trained_dir: str | None = None):  # noqa: ANN201 - a gradio.Blocks
    """The whole app: one tab per registered modality, then Compare with each modality's section, Evaluate
    (human judgements) and the Lab."""
    import gradio as gr

    from studio.modalities import ALL
    from studio.registry import manifest
    from studio.registry.serving import ModelRegistry
    from studio.ui import first_screen

    registry = ModelRegistry(trained_dir or manifest.TRAINED_DIR, modalities=ALL)
    screen = first_screen.begin()
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(INTRO, elem_id="intro")
        if registry.manifest_problem:
            gr.Markdown(f"**The model list could not be read:** {registry.manifest_problem}")
        for modality in ALL:
            with gr.Tab(modality.title, elem_id=modality.tab_id):
                modality.tab().build_tab(registry)
        with gr.Tab("Compare", elem_id="tab-compare"):
            for modality in ALL:
                modality.tab().build_compare(registry)
        with gr.Tab("Evaluate", elem_id="tab-evaluate") as evaluate_tab:
            from studio.humaneval.tab import build_tab as build_evaluate

            build_evaluate(registry, ALL, tab=evaluate_tab)
        with gr.Tab("Lab", elem_id="tab-lab"):
            from studio.lab.runs import LabRuns
            from studio.lab.tab import build_tab as build_lab
            from studio.lab.tab import can_train

            build_lab(LabRuns() if can_train() else None)
    demo.first_screen, demo.registry = screen, registry  # what main() draws once the server is up
    return demo


def warm(demo) -> None:  # noqa: ANN001 - the gradio.Blocks of build_demo
    """Draw every tab's first screen, then open the remaining generators: in the background, once serving."""
    demo.first_screen.warm()
    demo.registry.open_all()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Generative Studio web app",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--share", action="store_true", help="also ask Gradio for a public share link")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (0.0.0.0 for every interface; env GRADIO_SERVER_NAME)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
                        help="port to listen on (env GRADIO_SERVER_PORT)")
    parser.add_argument("--trained-dir", default=os.environ.get("STUDIO_TRAINED_DIR"),
                        help="folder holding manifest.json and the generators (env STUDIO_TRAINED_DIR; "
                             "default: trained/)")
    return parser.parse_args()


def main() -> None:
    import threading

    args = parse_args()
    demo = build_demo(args.trained_dir)
    demo.queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=args.share, ssr_mode=False,
        theme=theme(), css=CSS, footer_links=["api"], prevent_thread_lock=True)
    # The page is served before its samples are drawn (see studio/ui/first_screen.py).
    threading.Thread(target=warm, args=(demo,), daemon=True, name="first-screen").start()
    demo.block_thread()


if __name__ == "__main__":
    main()
