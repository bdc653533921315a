"""One property test over every (family, modality) recipe: shapes, gradients, training, export parity."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from studio.modalities import ALL
from studio.onnx.contract import ContractError, validate_file
from studio.onnx.export import ExportParityError, check_parity, export_generator
from studio.onnx.runtime import GeneratorUnavailable, OnnxGenerator
from studio.registry.serving import check_sample_type
from studio.training.pipeline import run
from tests.builders import ALL_RECIPES, build_tiny, config_of

RECIPES = ALL_RECIPES
ONE_SHOT = [r for r in RECIPES if build_tiny(*r).kind == "one-shot"]


def _tiny(family: str, modality: str) -> tuple[dict, torch.nn.Module]:
    return config_of(family, modality), build_tiny(family, modality)


def _fake_batch(process, n: int = 8) -> torch.Tensor:
    return process.example_batch(n)


@pytest.mark.parametrize("family,modality", RECIPES)
def test_every_phase_reaches_its_parameters(family, modality):
    _, process = _tiny(family, modality)
    batch = _fake_batch(process)
    for phase in process.phases():
        phase.module.zero_grad(set_to_none=True)
        out = phase.loss(batch, 0)
        assert out["loss"].ndim == 0 and torch.isfinite(out["loss"])
        out["loss"].backward()
        missing = [n for n, p in phase.module.named_parameters() if p.requires_grad and p.grad is None]
        assert not missing, f"{phase.name}: no gradient reaches {missing}"


SAMPLE_DTYPE = {"image": torch.uint8, "text": torch.int64, "music": torch.int64}  # pixels; character ids; tokens


@pytest.mark.parametrize("family,modality", ONE_SHOT)
def test_generator_shapes_and_sample_format(family, modality):
    _, process = _tiny(family, modality)
    out = process.export_module()(torch.randn(3, process.z_dim))
    assert out.dtype == SAMPLE_DTYPE[modality] and tuple(out.shape) == (3, *process.sample_shape())
    if modality == "text":
        assert int(out.min()) >= 0 and int(out.max()) < len(process.charset)
    if modality == "music":
        from studio.music.data import VOCAB

        assert int(out.min()) >= 0 and int(out.max()) < VOCAB


@pytest.mark.parametrize("family,modality", [
    pytest.param(*r, marks=[pytest.mark.uses_music_vae] if r == ("vae", "music") else []) for r in ONE_SHOT])
def test_trains_exports_and_matches_onnx_runtime(family, modality, tiny_export):
    done = tiny_export(family, modality)  # trained 4 steps, exported through process.export
    assert not done.warnings, f"exporting the {modality} {family} warned: {done.warnings}"
    process, path, report = done.process, done.folder / "generator.onnx", done.report["parity"]
    assert report["share_differing"] <= 0.01 or report["samples_differing"] <= 2  # 2 of 16: see check_parity
    info = validate_file(path)
    assert (info.family, info.modality, info.z_dim) == (process.family, modality, process.z_dim)
    # The served runtime reproduces PyTorch for a batch size the export never saw.
    gen = OnnxGenerator(path, device="cpu")
    z = np.random.default_rng(1).standard_normal((5, process.z_dim), dtype=np.float32)
    with torch.no_grad():
        expected = process.export_module()(torch.from_numpy(z)).numpy()
    check_parity(expected, gen.run(z))
    assert gen.provider == "CPUExecutionProvider"
    np.testing.assert_array_equal(gen.sample(4, seed=3), gen.sample(4, seed=3))


def test_parity_check_catches_a_wrong_graph():
    expected = np.zeros((2, 28, 28, 1), np.uint8)
    wrong = expected.copy()
    wrong[:, :10] = 200
    with pytest.raises(ExportParityError):
        check_parity(expected, wrong)
    with pytest.raises(ExportParityError):
        check_parity(np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32))


def test_parity_of_drawn_tokens_allows_a_diverging_sample_but_not_a_wrong_graph():
    expected = np.random.default_rng(0).integers(0, 48, (16, 64, 4))
    one_diverged = expected.copy()
    one_diverged[3, 20:] = (one_diverged[3, 20:] + 1) % 48  # a near-tie at step 20, then a different path
    assert check_parity(expected, one_diverged)["samples_differing"] == 1
    with pytest.raises(ExportParityError):
        check_parity(expected, (expected + 1) % 48)  # every sample differs: a wrong graph
    three_diverged = one_diverged.copy()
    three_diverged[[5, 9], 10:] = 0
    with pytest.raises(ExportParityError):
        check_parity(expected, three_diverged)


def test_contract_rejects_a_file_without_metadata(tmp_path):
    _, process = _tiny("gan", "image")
    path = tmp_path / "g.onnx"
    export_generator(process.export_module(), path, family="gan", modality="image", z_dim=process.z_dim,
                     sample_shape=process.sample_shape())
    model = onnx.load(str(path))
    del model.metadata_props[:]
    onnx.save(model, str(path))
    with pytest.raises(ContractError, match="metadata is missing"):
        validate_file(path)


def test_serving_rejects_a_float_image_output(tmp_path):
    from studio.onnx.contract import generator_metadata
    from studio.onnx.export import export_onnx

    _, process = _tiny("gan", "image")
    net = process.generator_ema.eval()  # float [N, 1, 28, 28] in [-1, 1]: not the image modality's uint8
    path = tmp_path / "float.onnx"
    export_onnx(net, (torch.randn(2, process.z_dim),), path, input_names=["z"], output_names=["sample"],
                dynamic_shapes={"z": {0: torch.export.Dim("batch")}},
                metadata=generator_metadata(family="gan", modality="image", z_dim=process.z_dim,
                                            sample_shape=(1, 28, 28)))
    validate_file(path)  # the contract itself is modality-free: a float sample of the stated shape is valid
    image = next(m for m in ALL if m.name == "image")
    with pytest.raises(GeneratorUnavailable, match="uint8"):
        check_sample_type(OnnxGenerator(path), [image])


def test_unknown_modality_says_what_exists(capsys):
    with pytest.raises(SystemExit):
        run("gan", ALL, ["--modality", "video"])
    err = capsys.readouterr().err
    assert "invalid choice: 'video'" in err and all(name in err for name in ("image", "text", "music"))
