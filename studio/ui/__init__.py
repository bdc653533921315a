"""The web app's tabs: Gradio layout and plain handler functions (no torch)."""
