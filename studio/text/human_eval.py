"""Items for human evaluation: three lines, real (consecutive lines of a held-out play) or from a model at the
Text tab's default settings, cut as the line data set cuts real lines."""

from __future__ import annotations

import functools

from studio.registry.manifest import HELDOUT_DIR
from studio.registry.serving import ModelRegistry
from studio.text.codec import decode, decode_lines
from studio.text.data import LINE_LENGTH, MIN_LINE
from studio.text.tab import DEFAULT_TEMPERATURE, DEFAULT_TOP_P, EMPTY_PROMPT, prompt_ids
from studio.ui.inputs import generator_for

KIND = "text"
MAIN_METRICS = ("real_word_share", "ref_perplexity", "degenerate_share")
WRITE_CHARS = 400  # enough for three lines from the Transformer
PASSAGE_LINES = 3  # lines per item, real or generated
REAL_FILE = HELDOUT_DIR / "lines.txt"  # scripts/make_heldout_samples.py: passages separated by blank lines


@functools.cache
def real_passages() -> tuple[str, ...]:
    return tuple(p for p in REAL_FILE.read_text().split("\n\n") if p.strip())


def real_count() -> int:
    return len(real_passages())


def real_item(index: int) -> str:
    return real_passages()[index]


def usable_lines(text: str) -> list[str]:
    """Lines as the line data set keeps them: at least MIN_LINE characters, cut to LINE_LENGTH."""
    return [line.strip()[:LINE_LENGTH].rstrip() for line in text.splitlines() if len(line.strip()) >= MIN_LINE]


def model_item(registry: ModelRegistry, model_id: str, seed: int) -> str:
    generator = generator_for(registry, model_id)
    charset = generator.info.charset
    if not generator.autoregressive:  # a line model writes whole lines from noise
        lines = decode_lines(generator.sample(PASSAGE_LINES, seed=seed, temperature=DEFAULT_TEMPERATURE), charset)
        return "\n".join(line.rstrip() for line in lines)
    ids, _ = prompt_ids(EMPTY_PROMPT, charset)
    steps = generator.stream_ids(ids[None, :], WRITE_CHARS, seed=seed, temperature=DEFAULT_TEMPERATURE, top_k=0,
                                 top_p=DEFAULT_TOP_P)
    text = decode([int(t[0]) for t in steps], charset)
    return "\n".join(usable_lines(text)[:PASSAGE_LINES])
