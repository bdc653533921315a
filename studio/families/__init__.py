"""Generative processes: what each family trains (its phases) and the generator it exports."""
