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
         "Generators trained by this project's scripts, exported to ONNX and run here through ONNX Runtime. "
         "Compare two side by side: same seed, same noise, different model. The numbers beside each model are "
         "recorded by `scripts/evaluate.py` from its ONNX file: images against the Fashion-MNIST test set, "
         "text against four Shakespeare plays and music against 29 Bach chorales that no model saw in training.")


def build_demo(trained_dir: str | None = None):  # noqa: ANN201 - a gradio.Blocks
    """The whole app: one tab per registered modality, then Compare with each modality's section."""
    import gradio as gr

    from studio import manifest
    from studio.modalities import ALL
    from studio.serving import ModelRegistry

    registry = ModelRegistry(trained_dir or manifest.TRAINED_DIR, modalities=ALL)
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(INTRO)
        if registry.manifest_problem:
            gr.Markdown(f"**The model list could not be read:** {registry.manifest_problem}")
        for modality in ALL:
            with gr.Tab(modality.title, elem_id=modality.tab_id):
                modality.tab().build_tab(registry)
        with gr.Tab("Compare", elem_id="tab-compare"):
            for modality in ALL:
                modality.tab().build_compare(registry)
    return demo


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
    args = parse_args()
    import gradio as gr

    build_demo(args.trained_dir).queue(default_concurrency_limit=4).launch(
        server_name=args.host, server_port=args.port, share=args.share, ssr_mode=False,
        theme=gr.themes.Default(), footer_links=["api"])


if __name__ == "__main__":
    main()
