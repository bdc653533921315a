#!/usr/bin/env python
"""Train the frozen reference models that score generators. Run once; they are never tuned toward a generator.

--modality image: the Fashion-MNIST classifier -> trained/_reference/{classifier.onnx,
  fashion_mnist_test_features.npz, metrics.json, card.md}.
--modality text: the character model -> trained/_reference/{char_reference.onnx,
  shakespeare_reference.npz, shakespeare_trigrams.npz, text_metrics.json, text_card.md}
  (scripts/text_reference.py).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modality", default="image", choices=("image", "text"),
                        help="which reference model to train (default: image)")
    parser.add_argument("--data-dir", default=None, help="where the data set is (default: the installed one)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 4 (image), 2 (text)")
    parser.add_argument("--batch-size", type=int, default=128, help="default: 128")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "trained" / "_reference"),
                        help="where the files go (default: trained/_reference)")
    parser.add_argument("--seed", type=int, default=0, help="default: 0")
    parser.add_argument("--steps", type=int, default=None,
                        help="text: stop after this many steps, for smoke tests (default: train fully)")
    parser.add_argument("--trigrams-only", action="store_true",
                        help="text: rewrite only the held-out character 3-gram table, without training "
                             "(default: train and write everything)")
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()  # --help and bad arguments answer before torch is imported

import numpy as np  # noqa: E402 - after --help, which must not import it
import onnxruntime as ort  # noqa: E402 - after --help, which must not import it
import torch  # noqa: E402 - after --help, which must not import it
import torch.nn.functional as F  # noqa: E402 - after --help, which must not import it
from tqdm.auto import tqdm  # noqa: E402 - after --help, which must not import it

from studio.atomic import atomic_write, atomic_write_json, atomic_write_text  # noqa: E402 - after --help, which must not import it
from studio.image.codec import to_unit_range  # noqa: E402 - after --help, which must not import it
from studio.image.data import CLASS_NAMES, PROVENANCE, load_fashion_mnist  # noqa: E402 - after --help, which must not import it
from studio.image.metrics import CLASSIFIER, STATS  # noqa: E402 - after --help, which must not import it
from studio.image.networks.classifier import ReferenceClassifier, Uint8Classifier  # noqa: E402 - after --help, which must not import it
from studio.onnx.export import _quiet_export, check_parity  # noqa: E402 - after --help, which must not import it
from studio.registry.manifest import git_commit  # noqa: E402 - after --help, which must not import it
from studio.registry.record import DataMissing  # noqa: E402 - after --help, which must not import it


def main(args: argparse.Namespace) -> None:
    if args.modality == "text":
        from text_reference import train_text_reference, write_trigram_table

        if args.trigrams_only:
            write_trigram_table(args)
        else:
            train_text_reference(args)
    else:
        args.epochs = args.epochs or 4
        train_image_reference(args)


def train_image_reference(args: argparse.Namespace) -> None:

    try:
        data = load_fashion_mnist(args.data_dir)
    except DataMissing as exc:
        sys.exit(f"error: {exc}")
    torch.manual_seed(args.seed)
    x_train = torch.from_numpy(to_unit_range(data["train"].images))  # (60000, 1, 28, 28)
    y_train = torch.from_numpy(data["train"].labels)

    net = ReferenceClassifier()
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=total)
    t0 = time.time()
    bar = tqdm(total=total, desc="reference classifier", unit="step", mininterval=1.0)
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(x_train))
        for i in range(steps_per_epoch):
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            x = x_train[idx]
            flip = torch.rand(len(x)) < 0.5  # left-right flips keep the class of every garment
            x = torch.where(flip[:, None, None, None], x.flip(-1), x)
            loss = F.cross_entropy(net(x)[1], y_train[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(epoch=epoch, loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    train_seconds = time.time() - t0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    wrapper = Uint8Classifier(net).eval()
    example = torch.from_numpy(data["test"].images[:4, :, :, None].copy())
    batch = torch.export.Dim("batch", min=1, max=65536)

    def write_onnx(tmp: str) -> None:
        _quiet_export(wrapper, (example,), tmp, input_names=["image"], output_names=["features", "logits"],
                      dynamic_shapes={"image": {0: batch}}, dynamo=True, external_data=False, optimize=True)

    atomic_write(out / CLASSIFIER, write_onnx)
    session = ort.InferenceSession(str(out / CLASSIFIER), providers=["CPUExecutionProvider"])
    images = data["test"].images[..., None]  # (10000, 28, 28, 1) uint8
    feats, logits = [], []
    for i in range(0, len(images), 1000):
        f, lg = session.run(["features", "logits"], {"image": images[i : i + 1000]})
        feats.append(f)
        logits.append(lg)
    feats_np, logits_np = np.concatenate(feats), np.concatenate(logits)
    with torch.no_grad():
        _, torch_logits = wrapper(torch.from_numpy(images[:256].copy()))
    parity = check_parity(torch_logits.numpy(), logits_np[:256])
    accuracy = float((logits_np.argmax(1) == data["test"].labels).mean())
    per_class = [float((logits_np.argmax(1)[data["test"].labels == c] == c).mean()) for c in range(10)]

    def write_stats(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, features=feats_np.astype(np.float16), labels=data["test"].labels.astype(np.uint8),
                                num_classes=np.int64(10))

    atomic_write(out / STATS, write_stats)
    metrics = {"test_accuracy": accuracy, "per_class_accuracy": dict(zip(CLASS_NAMES, per_class)),
               "epochs": args.epochs, "train_seconds": train_seconds, "parity": parity,
               "feature_dim": int(feats_np.shape[1]), "git_commit": git_commit()}
    atomic_write_json(out / "metrics.json", metrics)
    rows = "\n".join(f"| {name} | {acc:.3f} |" for name, acc in zip(CLASS_NAMES, per_class))
    atomic_write_text(out / "card.md", f"""# Reference classifier (frozen)

Scores every image generator: its 128-d penultimate features give the Fréchet distance,
precision/recall and density/coverage; its predictions give the class histogram.
It was trained once by `python scripts/train_reference.py` and is never tuned toward a generator.

- Data: {PROVENANCE}; trained on the 60,000 training images, {args.epochs} epochs.
- **Test accuracy: {accuracy:.4f}** on the 10,000 test images (computed in ONNX Runtime).
- Input: uint8 [N, 28, 28, 1], the generators' sample format. Outputs: `features` [N, 128], `logits` [N, 10].
- `{STATS}`: the test set's features (float16), the real side of every feature metric.

| class | test accuracy |
|---|---|
{rows}
""")
    print(json.dumps({"test_accuracy": accuracy, "train_seconds": round(train_seconds, 1)}))


if __name__ == "__main__":
    main(ARGS)
