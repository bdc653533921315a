"""Image networks: the DCGAN, the convolutional VAE, the VQ-VAE, the reference classifier, in-graph heads."""
