"""The ONNX generator contract: what every exported generator file must look like.

A one-shot generator (GAN, VAE decoder, flow inverse) takes noise and returns finished
samples; post-processing (scaling to uint8, argmax) lives inside the graph, so the app
needs no torch. The file's ``metadata_props`` say what it is, so a file on its own is
enough to serve and score it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CONTRACT_VERSION = "1"

#: Input and output names of a one-shot generator graph.
Z_INPUT = "z"
SAMPLE_OUTPUT = "sample"

FAMILIES = ("gan", "vae", "flow", "transformer")
MODALITIES = ("image", "text", "music")
KINDS = ("one-shot", "autoregressive")

#: Sample format per modality for one-shot generators: (ONNX element type name, rank).
#: image: uint8 [batch, height, width, channels].
SAMPLE_FORMATS: dict[str, tuple[str, int]] = {
    "image": ("tensor(uint8)", 4),
}

# metadata_props keys written into every generator file.
META_VERSION = "studio.contract_version"
META_FAMILY = "studio.family"
META_MODALITY = "studio.modality"
META_KIND = "studio.kind"
META_Z_DIM = "studio.z_dim"
META_SAMPLE_SHAPE = "studio.sample_shape"  # JSON list, without the batch axis
REQUIRED_META = (META_VERSION, META_FAMILY, META_MODALITY, META_KIND)


class ContractError(ValueError):
    """An ONNX file does not follow the generator contract."""


@dataclass(frozen=True)
class GeneratorInfo:
    """What a generator file says about itself."""

    family: str
    modality: str
    kind: str
    z_dim: int | None
    sample_shape: tuple[int, ...]
    contract_version: str


def generator_metadata(
    *, family: str, modality: str, z_dim: int, sample_shape: tuple[int, ...], kind: str = "one-shot"
) -> dict[str, str]:
    """The metadata_props an exported one-shot generator carries."""
    if family not in FAMILIES:
        raise ContractError(f"unknown family {family!r}; expected one of {FAMILIES}")
    if modality not in MODALITIES:
        raise ContractError(f"unknown modality {modality!r}; expected one of {MODALITIES}")
    return {
        META_VERSION: CONTRACT_VERSION,
        META_FAMILY: family,
        META_MODALITY: modality,
        META_KIND: kind,
        META_Z_DIM: str(int(z_dim)),
        META_SAMPLE_SHAPE: json.dumps(list(sample_shape)),
    }


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
            f"generator metadata is missing {missing}; export it with studio.export.export_generator"
        )
    if meta[META_VERSION] != CONTRACT_VERSION:
        raise ContractError(
            f"contract version {meta[META_VERSION]!r} is not the supported {CONTRACT_VERSION!r}; "
            "re-export the model with this version of the studio"
        )
    family, modality, kind = meta[META_FAMILY], meta[META_MODALITY], meta[META_KIND]
    if family not in FAMILIES or modality not in MODALITIES or kind not in KINDS:
        raise ContractError(f"unknown family/modality/kind: {family}/{modality}/{kind}")
    if kind != "one-shot":
        raise ContractError(f"kind {kind!r} is not served by the one-shot runtime")

    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    if set(inputs) != {Z_INPUT}:
        raise ContractError(f"a one-shot generator takes exactly one input {Z_INPUT!r}; found {sorted(inputs)}")
    if SAMPLE_OUTPUT not in outputs:
        raise ContractError(f"a generator must output {SAMPLE_OUTPUT!r}; found {sorted(outputs)}")
    z = inputs[Z_INPUT]
    if z.type != "tensor(float)" or len(z.shape) != 2 or not _dim_is_dynamic(z.shape[0]):
        raise ContractError(f"input z must be float32 [batch, z_dim] with a dynamic batch; got {z.type} {z.shape}")
    z_dim = int(meta.get(META_Z_DIM, z.shape[1]))
    if z.shape[1] != z_dim:
        raise ContractError(f"z width {z.shape[1]} does not match metadata z_dim {z_dim}")

    sample = outputs[SAMPLE_OUTPUT]
    want_type, want_rank = SAMPLE_FORMATS.get(modality, (None, None))
    if want_type is not None:
        if sample.type != want_type or len(sample.shape) != want_rank:
            raise ContractError(
                f"{modality} sample must be {want_type} of rank {want_rank}; got {sample.type} {sample.shape}"
            )
    if not _dim_is_dynamic(sample.shape[0]):
        raise ContractError("the sample's batch axis must be dynamic")
    shape = tuple(json.loads(meta.get(META_SAMPLE_SHAPE, "[]")))
    return GeneratorInfo(family, modality, kind, z_dim, shape, meta[META_VERSION])


def validate_file(path: str | Path) -> GeneratorInfo:
    """Load ``path`` on the CPU and validate it (for tests and scripts)."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return validate_session(session)
