"""Building blocks shared by recipes: Glow steps, the GPT step graph, 1-d residual blocks, draws, likelihoods."""
