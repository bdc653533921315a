"""Music networks: the hierarchical fragment VAE, the fragment GAN, the pitch-height flow head."""
