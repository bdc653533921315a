"""The ONNX generator contract: what every exported generator file must look like.

A one-shot generator (GAN, VAE decoder, flow inverse) takes noise and returns finished
samples; post-processing (scaling to uint8, argmax) lives inside the graph, so serving needs
no torch. The file's ``metadata_props`` say what it is (family, modality, sample shape, and a
text model's charset), so a file on its own is enough to serve and score it. The contract is
modality-free: a modality is a name, and its samples are any uint8, int64 or float32 tensor
whose shape the metadata states.

Version 2 adds optional condition inputs, the same for every modality: a class to draw (``label``) and a
region of the sample the caller gives (``mask`` + ``visible``). A file lists the ones it takes in its
metadata; nothing given is unconditional generation, so one file serves all three uses. Version 1 files
(noise in, sample out) keep serving.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTRACT_VERSION = "2"
#: Versions the runtime serves: 1 is noise in, sample out; 2 adds the optional condition inputs.
SUPPORTED_VERSIONS = ("1", "2")

#: Input and output names of a one-shot generator graph.
Z_INPUT = "z"
SAMPLE_OUTPUT = "sample"

#: Condition inputs (version 2). A caller that gives a condition feeds its inputs; the runtime feeds the rest as
#: "not given" (label -1, mask all 0), so a conditional file also draws unconditionally.
LABEL_INPUT = "label"  # int64 [batch]: the class asked for; -1 = any class
MASK_INPUT = "mask"  # uint8 [batch, *sample_shape]: 1 where the caller gives the sample's value, 0 where it is drawn
VISIBLE_INPUT = "visible"  # the sample's type [batch, *sample_shape]: the given values, read only where mask is 1
#: Condition names in metadata -> the inputs each one adds.
CONDITIONS = {"class": (LABEL_INPUT,), "region": (MASK_INPUT, VISIBLE_INPUT)}
NOT_GIVEN_LABEL = -1

FAMILIES = ("gan", "vae", "flow", "transformer")
KINDS = ("one-shot", "autoregressive")
#: Element types a sample may have (pixels as uint8; ids and tokens as int64; continuous values as float32).
SAMPLE_TYPES = ("tensor(uint8)", "tensor(int64)", "tensor(float)")

#: Step graph of an autoregressive generator: one decoding step over an explicit KV cache.
TOKENS_INPUT = "tokens"  # int64 [batch, seq]
PAST_INPUT = "past"  # float32 [layers, 2, batch, heads, past_len, head_dim]
LOGITS_OUTPUT = "logits"  # float32 [batch, vocab]: the next token after the last input token
PRESENT_OUTPUT = "present"  # float32 [layers, 2, batch, heads, past_len + seq, head_dim]
#: Its token decoder (a separate file named in the metadata): codes int64 [batch, seq_len] -> sample.
CODES_INPUT = "codes"

#: The largest noise seed anywhere in the studio (a one-shot file takes noise, never a seed; the runtime draws
#: the noise from the seed; 2**31 - 1 fits every widget and API).
MAX_SEED = 2**31 - 1

# metadata_props keys written into every generator file.
META_VERSION = "studio.contract_version"
META_FAMILY = "studio.family"
META_MODALITY = "studio.modality"
META_KIND = "studio.kind"
META_Z_DIM = "studio.z_dim"
META_SAMPLE_SHAPE = "studio.sample_shape"  # JSON list, without the batch axis
# A step graph without a decoder writes the sample itself: a whole token sequence fills sample_shape
# row-major (text: [length]; music: [steps, 4], i.e. tokens interleaved S, A, T, B step by step).
# autoregressive only
META_VOCAB = "studio.vocab"
META_BOS = "studio.bos"
META_SEQ_LEN = "studio.seq_len"
META_CACHE_SHAPE = "studio.cache_shape"  # JSON [layers, heads, head_dim]
META_DECODER = "studio.decoder"  # file name, beside the step graph; "" when the tokens are the sample
META_CHARSET = "studio.charset"  # JSON string: character i of a character model's vocabulary has id i
META_CONDITIONS = "studio.conditions"  # JSON list of CONDITIONS names the file takes (version 2; absent: none)
META_CLASSES = "studio.classes"  # JSON list of class names: label i asks for class i (with the "class" condition)
REQUIRED_META = (META_VERSION, META_FAMILY, META_MODALITY, META_KIND)


class ContractError(ValueError):
    """An ONNX file does not follow the generator contract."""


def step_metadata(*, family: str, modality: str, vocab: int, bos: int, seq_len: int, layers: int, heads: int,
                  head_dim: int, decoder: str, sample_shape: tuple[int, ...],
                  charset: str | None = None) -> dict[str, str]:
    """The metadata_props of an autoregressive step graph."""
    meta = generator_metadata(family=family, modality=modality, z_dim=0, sample_shape=sample_shape,
                              kind="autoregressive", charset=charset)
    del meta[META_Z_DIM]
    meta.update({META_VOCAB: str(vocab), META_BOS: str(bos), META_SEQ_LEN: str(seq_len),
                 META_CACHE_SHAPE: json.dumps([layers, heads, head_dim]), META_DECODER: decoder})
    return meta


@dataclass(frozen=True)
class StepInfo:
    """What an autoregressive step graph says about itself."""

    family: str
    modality: str
    vocab: int
    bos: int
    seq_len: int
    layers: int
    heads: int
    head_dim: int
    decoder: str
    sample_shape: tuple[int, ...]
    charset: str | None = None


def read_kind(session: Any) -> str:
    return session.get_modelmeta().custom_metadata_map.get(META_KIND, "")


def validate_step_session(session: Any) -> StepInfo:
    """Check an autoregressive step graph against the contract."""
    meta = session.get_modelmeta().custom_metadata_map
    needed = (*REQUIRED_META, META_VOCAB, META_BOS, META_SEQ_LEN, META_CACHE_SHAPE, META_DECODER)
    missing = [k for k in needed if k not in meta]
    if missing:
        raise ContractError(f"step-graph metadata is missing {missing}; export it with studio.families.transformer")
    if meta[META_KIND] != "autoregressive":
        raise ContractError(f"kind {meta[META_KIND]!r} is not an autoregressive step graph")
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    if set(inputs) != {TOKENS_INPUT, PAST_INPUT} or not {LOGITS_OUTPUT, PRESENT_OUTPUT} <= set(outputs):
        raise ContractError(f"a step graph maps (tokens, past) -> (logits, present); found {sorted(inputs)} -> "
                            f"{sorted(outputs)}")
    if inputs[TOKENS_INPUT].type != "tensor(int64)" or inputs[PAST_INPUT].type != "tensor(float)":
        raise ContractError("tokens must be int64 and past float32")
    if len(inputs[PAST_INPUT].shape) != 6:
        raise ContractError("past must be [layers, 2, batch, heads, past_len, head_dim]")
    layers, heads, head_dim = json.loads(meta[META_CACHE_SHAPE])
    return StepInfo(meta[META_FAMILY], meta[META_MODALITY], int(meta[META_VOCAB]), int(meta[META_BOS]),
                    int(meta[META_SEQ_LEN]), int(layers), int(heads), int(head_dim), meta[META_DECODER],
                    tuple(json.loads(meta.get(META_SAMPLE_SHAPE, "[]"))), read_charset(meta))


@dataclass(frozen=True)
class GeneratorInfo:
    """What a generator file says about itself."""

    family: str
    modality: str
    kind: str
    z_dim: int | None
    sample_shape: tuple[int, ...]
    contract_version: str
    charset: str | None = None
    conditions: tuple[str, ...] = ()  # CONDITIONS names the file takes
    classes: tuple[str, ...] = ()  # with "class": the names of labels 0, 1, ...

    def takes(self, condition: str) -> bool:
        return condition in self.conditions


def read_charset(meta: dict[str, str]) -> str | None:
    return json.loads(meta[META_CHARSET]) if META_CHARSET in meta else None


def check_conditions(conditions: tuple[str, ...], classes: tuple[str, ...]) -> None:
    """Conditions are CONDITIONS names, and a file names its classes exactly when it takes a class."""
    unknown = [c for c in conditions if c not in CONDITIONS]
    if unknown:
        raise ContractError(f"unknown conditions {unknown}; expected some of {list(CONDITIONS)}")
    if ("class" in conditions) != bool(classes):
        raise ContractError(f"a generator that takes a class must name its classes ({META_CLASSES}), and only then")


def generator_metadata(
    *, family: str, modality: str, z_dim: int, sample_shape: tuple[int, ...], kind: str = "one-shot",
    charset: str | None = None, conditions: tuple[str, ...] = (), classes: tuple[str, ...] = (),
) -> dict[str, str]:
    """The metadata_props an exported one-shot generator carries (``conditions``: the CONDITIONS it takes)."""
    if family not in FAMILIES:
        raise ContractError(f"unknown family {family!r}; expected one of {FAMILIES}")
    if not modality:
        raise ContractError("a generator must name its modality")
    meta = {
        META_VERSION: CONTRACT_VERSION,
        META_FAMILY: family,
        META_MODALITY: modality,
        META_KIND: kind,
        META_Z_DIM: str(int(z_dim)),
        META_SAMPLE_SHAPE: json.dumps(list(sample_shape)),
    }
    if charset:
        meta[META_CHARSET] = json.dumps(charset)
    check_conditions(conditions, classes)
    if conditions:
        meta[META_CONDITIONS] = json.dumps(list(conditions))
    if classes:
        meta[META_CLASSES] = json.dumps(list(classes))
    return meta


def _dim_is_dynamic(dim: Any) -> bool:
    # ORT reports a symbolic axis as a string (or None); a fixed one as an int.
    return not isinstance(dim, int)


def validate_session(session: Any) -> GeneratorInfo:
    """Check an ``onnxruntime.InferenceSession`` against the contract.

    Raises ContractError naming the first thing that is wrong.
    """
    meta = session.get_modelmeta().custom_metadata_map
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ContractError(
            f"generator metadata is missing {missing}; export it with studio.onnx.export.export_generator"
        )
    if meta[META_VERSION] not in SUPPORTED_VERSIONS:
        raise ContractError(
            f"contract version {meta[META_VERSION]!r} is not one this studio serves ({', '.join(SUPPORTED_VERSIONS)}); "
            "re-export the model with this version of the studio"
        )
    family, modality, kind = meta[META_FAMILY], meta[META_MODALITY], meta[META_KIND]
    if family not in FAMILIES or not modality or kind not in KINDS:
        raise ContractError(f"unknown family/modality/kind: {family}/{modality}/{kind}")
    if kind != "one-shot":
        raise ContractError(f"kind {kind!r} is not served by the one-shot runtime")

    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    conditions = tuple(json.loads(meta.get(META_CONDITIONS, "[]")))
    classes = tuple(json.loads(meta.get(META_CLASSES, "[]")))
    if conditions and meta[META_VERSION] == "1":
        raise ContractError("condition inputs need contract version 2")
    check_conditions(conditions, classes)
    expected = {Z_INPUT, *(name for c in conditions for name in CONDITIONS[c])}
    if set(inputs) != expected:
        raise ContractError(f"a one-shot generator with conditions {list(conditions)} takes the inputs "
                            f"{sorted(expected)}; found {sorted(inputs)}")
    if SAMPLE_OUTPUT not in outputs:
        raise ContractError(f"a generator must output {SAMPLE_OUTPUT!r}; found {sorted(outputs)}")
    z = inputs[Z_INPUT]
    if z.type != "tensor(float)" or len(z.shape) != 2 or not _dim_is_dynamic(z.shape[0]):
        raise ContractError(f"input z must be float32 [batch, z_dim] with a dynamic batch; got {z.type} {z.shape}")
    z_dim = int(meta.get(META_Z_DIM, z.shape[1]))
    if z.shape[1] != z_dim:
        raise ContractError(f"z width {z.shape[1]} does not match metadata z_dim {z_dim}")

    sample = outputs[SAMPLE_OUTPUT]
    shape = tuple(json.loads(meta.get(META_SAMPLE_SHAPE, "[]")))
    if sample.type not in SAMPLE_TYPES or len(sample.shape) != 1 + len(shape):
        raise ContractError(f"the sample must be one of {SAMPLE_TYPES} of shape [batch, *{list(shape)}] (the "
                            f"metadata's sample shape); got {sample.type} {sample.shape}")
    if not _dim_is_dynamic(sample.shape[0]):
        raise ContractError("the sample's batch axis must be dynamic")
    if LABEL_INPUT in inputs and inputs[LABEL_INPUT].type != "tensor(int64)":
        raise ContractError(f"input {LABEL_INPUT!r} must be int64 [batch]; got {inputs[LABEL_INPUT].type}")
    if MASK_INPUT in inputs and inputs[MASK_INPUT].type != "tensor(uint8)":
        raise ContractError(f"input {MASK_INPUT!r} must be uint8 [batch, *sample_shape]; got {inputs[MASK_INPUT].type}")
    if VISIBLE_INPUT in inputs and inputs[VISIBLE_INPUT].type != sample.type:
        raise ContractError(f"input {VISIBLE_INPUT!r} must have the sample's type {sample.type}; "
                            f"got {inputs[VISIBLE_INPUT].type}")
    return GeneratorInfo(family, modality, kind, z_dim, shape, meta[META_VERSION], read_charset(meta),
                         conditions, classes)


def validate_file(path: str | Path) -> GeneratorInfo | StepInfo:
    """Load ``path`` on the CPU and validate it as whichever kind its metadata says (tests, scripts)."""
    from studio.onnx.options import cpu_session

    session = cpu_session(path)
    if read_kind(session) == "autoregressive":
        return validate_step_session(session)
    return validate_session(session)
