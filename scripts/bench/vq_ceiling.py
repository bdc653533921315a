#!/usr/bin/env python
"""How good can the image Transformer's samples get with its VQ-VAE? Scores the VQ-VAE's reconstructions.

    python scripts/bench/vq_ceiling.py                    # reads runs/cpu/image-transformer/vqvae/checkpoint.pt
    python scripts/bench/vq_ceiling.py --run-dir DIR      # another training run's folder

The Transformer only chooses codes; the VQ-VAE's decoder draws the picture. So a prior that matched the
test images' codes exactly would draw the VQ-VAE's *reconstructions* of the test images, and the protocol's
numbers for those (FD, class histogram, class KL against the same reference classifier) bound what the
Transformer can reach. This prints them, and the reference classifier's confusion matrix on the
reconstructions: which classes the decoder's pictures stop telling apart.

It needs the VQ-VAE's weights from a training run (`python scripts/train_transformer.py --modality image`
writes them); the committed decoder.onnx has the decoder but not the encoder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from studio import REPO_ROOT

REPO = REPO_ROOT


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", default=str(REPO / "runs" / "cpu" / "image-transformer"),
                        help="the image Transformer's training folder (default: %(default)s)")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST folder (default: the installed one)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    checkpoint = Path(args.run_dir) / "vqvae" / "checkpoint.pt"
    if not checkpoint.exists():
        raise SystemExit(f"error: {checkpoint} does not exist. Train the image Transformer first: "
                         "python scripts/train_transformer.py --modality image")
    import json

    import numpy as np
    import torch

    from studio.image.data import CLASS_NAMES
    from studio.image.metrics import REFERENCE_DIR, ImageReference, score_images
    from studio.image.recipes import RECIPES, build_vqvae, load_data
    from studio.training.recipe import resolve

    data = load_data(args.data_dir)
    vq = build_vqvae(resolve(RECIPES["transformer"], "image", "cpu", None), data)
    vq.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=False)["process"])
    vq.eval()
    test = data["test_tensor"]  # (10000, 1, 28, 28) in [-1, 1]
    with torch.no_grad():
        recon = torch.cat([vq.vqvae(test[i:i + 1000])[0] for i in range(0, len(test), 1000)])  # (10000, 1, 28, 28)
    images = ((recon.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy().astype(np.uint8)

    reference = ImageReference(device="cpu")
    metrics = score_images(images, reference)
    _, predicted = reference.embed(images)
    labels = reference.real_labels
    print(f"The VQ-VAE's reconstructions of the {len(images):,} test images, scored like samples:")
    print(f"  FD {metrics['fd']:.2f}, precision {metrics['precision']:.3f}, class KL {metrics['kl_to_uniform']:.3f}")
    real_accuracy = json.loads((REFERENCE_DIR / "metrics.json").read_text())["test_accuracy"]
    print(f"  the reference classifier labels {float((predicted == labels).mean()):.1%} of them as their image's "
          f"true class ({real_accuracy:.1%} of the real images)")
    print("\nclass shares of the reconstructions (10% each in the test set):")
    for name, share in zip(CLASS_NAMES, metrics["class_histogram"]):
        print(f"  {name:11s} {share:6.1%}")
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    print("\nconfusion (rows: the test image's class, columns: the class its reconstruction is read as):")
    print(" " * 12 + " ".join(f"{n[:7]:>7s}" for n in CLASS_NAMES))
    for name, row in zip(CLASS_NAMES, confusion):
        print(f"{name:11s} " + " ".join(f"{v:7d}" for v in row))


if __name__ == "__main__":
    main()
