"""The frozen reference character model for text (called by `train_reference.py --modality text`).

Trains studio.text.networks.reference on the training plays' lines and writes, into trained/_reference/:
char_reference.onnx, shakespeare_reference.npz (held-out line features and lines, the training text's
span table and word list, the held-out perplexity), text_metrics.json and text_card.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from studio.atomic import atomic_write, atomic_write_json, atomic_write_text
from studio.onnx.export import _quiet_export, check_parity
from studio.registry.manifest import git_commit
from studio.registry.record import DataMissing
from studio.text.charstats import TRIGRAMS, TrigramTable
from studio.text.codec import decode_lines
from studio.text.data import PROVENANCE, TextCorpus, load_shakespeare
from studio.text.metrics import TEXT_MODEL, TEXT_STATS, line_lengths, span_table, words
from studio.text.networks.reference import CharReference, ReferenceScorer
from studio.text.protocol import N_SAMPLES


def masked_nll(logits: torch.Tensor, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Mean next-character NLL (nats) over each line and its end marker (the first pad)."""
    nll = F.cross_entropy(logits.transpose(1, 2), ids, reduction="none")  # (B, T)
    mask = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
    return (nll * mask).sum() / mask.sum()


def held_out_split(corpus: TextCorpus) -> tuple[np.ndarray, np.ndarray]:
    """The held-out lines in two disjoint parts: the protocol's 5,000 (shuffled, so any prefix spans all 4
    plays) and the rest, whose character 3-grams are the table the samples' 3-grams are compared to."""
    order = np.random.default_rng(0).permutation(len(corpus.valid_lines))
    return corpus.valid_lines[order[:N_SAMPLES]], corpus.valid_lines[order[N_SAMPLES:]]


def write_trigram_table(args: argparse.Namespace) -> None:
    """trained/_reference/shakespeare_trigrams.npz from the held-out lines the protocol's 5,000 leave out."""
    try:
        corpus = load_shakespeare(args.data_dir)
    except DataMissing as exc:
        sys.exit(f"error: {exc}")
    _, rest = held_out_split(corpus)
    table = TrigramTable.of(decode_lines(rest, corpus.vocab))
    table.save(Path(args.out) / TRIGRAMS)
    print(json.dumps({"trigram_lines": table.lines, "distinct_trigrams": len(table.ids)}))


def train_text_reference(args: argparse.Namespace) -> None:
    try:
        corpus = load_shakespeare(args.data_dir)
    except DataMissing as exc:
        sys.exit(f"error: {exc}")
    torch.manual_seed(args.seed)
    epochs = args.epochs or 1
    charset = corpus.vocab
    train = torch.from_numpy(corpus.train_lines.astype(np.int64))  # (M, 48)
    train_len = torch.from_numpy(line_lengths(corpus.train_lines, charset))
    net = CharReference(len(charset))
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(train) / args.batch_size)
    total = min(epochs * steps_per_epoch, args.steps or epochs * steps_per_epoch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=total)
    t0 = time.time()
    bar = tqdm(total=total, desc="reference character model", unit="step", mininterval=1.0)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(train))
        for i in range(min(steps_per_epoch, total - bar.n)):
            idx = order[i * args.batch_size : (i + 1) * args.batch_size]
            loss = masked_nll(net(train[idx])[0], train[idx], train_len[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    bar.close()
    train_seconds = time.time() - t0

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scorer = ReferenceScorer(net).eval()
    example = train[:4]
    batch = torch.export.Dim("batch", min=1, max=65536)

    def write_onnx(tmp: str) -> None:
        _quiet_export(scorer, (example,), tmp, input_names=["text"], output_names=["logprob", "features"],
                      dynamic_shapes={"text": {0: batch}}, dynamo=True, external_data=False, optimize=True)

    atomic_write(out / TEXT_MODEL, write_onnx)
    session = ort.InferenceSession(str(out / TEXT_MODEL), providers=["CPUExecutionProvider"])
    valid, _ = held_out_split(corpus)  # the protocol's sample count, a small file
    logps, feats = [], []
    for i in range(0, len(valid), 1000):
        lp, f = session.run(["logprob", "features"], {"text": valid[i : i + 1000].astype(np.int64)})
        logps.append(lp)
        feats.append(f)
    logprob, features = np.concatenate(logps), np.concatenate(feats)
    with torch.no_grad():
        parity = check_parity(scorer(torch.from_numpy(valid[:256].astype(np.int64)))[0].numpy(), logprob[:256])
    lengths = line_lengths(valid, charset)
    mask = np.arange(valid.shape[1])[None, :] < lengths[:, None]
    nats = float(-(logprob * mask).sum() / mask.sum())
    train_text = corpus.decode(corpus.train_ids)
    spans = span_table(train_text)
    vocabulary = sorted(set(words(train_text)))

    def write_stats(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, charset=np.array(charset), valid_features=features.astype(np.float16),
                                valid_lines=np.array(decode_lines(valid, charset)), train_spans=spans,
                                train_words=np.array(vocabulary), valid_perplexity=np.float64(math.exp(nats)))

    atomic_write(out / TEXT_STATS, write_stats)
    metrics = {"valid_nats_per_char": nats, "valid_bits_per_char": nats / math.log(2),
               "valid_perplexity": math.exp(nats), "epochs": epochs, "train_seconds": train_seconds,
               "parity": parity, "feature_dim": int(features.shape[1]), "valid_lines": len(valid),
               "train_span_table": len(spans), "train_words": len(vocabulary), "git_commit": git_commit()}
    write_trigram_table(args)
    atomic_write_json(out / "text_metrics.json", metrics)
    atomic_write_text(out / "text_card.md", f"""# Reference character model (frozen)

Scores every text generator. A causal convolutional character model over one line (gated residual blocks with
dilations 1, 2, 4, 8, 16): its mean hidden state (128-d) is a line's feature vector for the Fréchet distance, and its
next-character probabilities give the perplexity of generated lines. Trained once by
`python scripts/train_reference.py --modality text`; never tuned toward a generator.

- Data: {PROVENANCE}. Trained on the {len(train):,} lines of the training works ({epochs} epoch).
- **Held-out lines: {nats:.3f} nats/char ({nats / math.log(2):.3f} bits/char), perplexity {math.exp(nats):.2f}**
  (computed in ONNX Runtime over each line and its end, {len(valid):,} shuffled lines of the held-out plays).
- Input: `text` int64 [N, 48] (a line, space-padded). Outputs: `logprob` [N, 48] of each character, `features` [N, 128].
- `{TEXT_STATS}`: the held-out lines and their features (the real side of every metric), the training text's
  20-character span table (a 1/16 hash sample, for novelty) and its {len(vocabulary):,} words (for the real-word share).
- `{TRIGRAMS}`: the character 3-gram counts of the other held-out lines (the character-level readout).
""")
    print(json.dumps({"valid_nats_per_char": round(nats, 4), "train_seconds": round(train_seconds, 1)}))
