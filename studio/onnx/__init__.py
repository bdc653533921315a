"""Everything about ONNX files: the generator contract, every export path (one parity-checked, atomic write),
ONNX Runtime session options, the runtime that draws samples, KV-cache decoding, and graph rewrites and
measurements. Modality-free; it imports nothing else of the studio but ``studio.atomic``."""
