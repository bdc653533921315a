"""Evaluation shared by every modality: fidelity maths, the metric schema, the one evaluate shell."""
