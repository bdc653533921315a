"""Sample-quality metrics: flat dicts with constant keys, generated first, real second."""
