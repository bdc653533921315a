"""Text networks: the line VAE and GAN, the binary-digit flow head, the reference character model."""
