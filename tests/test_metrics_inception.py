"""InceptionV3 pool3 features from a user-supplied weights file (gankit.metrics.inception).

The real weights cannot be downloaded here, so the tests write a random state dict with the
checkpoint's layout (keys, shapes, no ``num_batches_tracked``, as torch-fidelity's converter
writes it) and check loading, the forward pass's shapes and the preprocessing. Model runs use
two images: one 299 x 299 InceptionV3 pass takes about a second per image on a small CPU.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gankit.errors import UserError
from gankit.metrics.inception import (
    InceptionV3,
    InceptionV3Features,
    _preprocess,
    resize_bilinear_tf1,
)

# Keys as named in torch-fidelity's converter (utils/util_convert_inception_weights.py), which
# maps each TensorFlow tensor to these names; pytorch-fid's torchvision Inception3 uses the same.
KNOWN_KEYS = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.running_var": (32,),
    "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
    "Mixed_5b.branch5x5_2.conv.weight": (64, 48, 5, 5),
    "Mixed_6b.branch7x7dbl_5.conv.weight": (192, 128, 1, 7),
    "Mixed_7a.branch7x7x3_4.conv.weight": (192, 192, 3, 3),
    "Mixed_7b.branch3x3_2a.conv.weight": (384, 384, 1, 3),
    "Mixed_7c.branch_pool.conv.weight": (192, 2048, 1, 1),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}


@pytest.fixture(scope="module")
def state_dict() -> dict[str, torch.Tensor]:
    """Random weights with He-scaled convolutions and identity BatchNorm, so activations keep
    a scale near 1 through all 94 layers (torch's default init shrinks them to ~1e-8, where
    rounding noise would dominate any comparison)."""
    torch.manual_seed(0)
    out = {}
    for key, value in InceptionV3().state_dict().items():
        if key.endswith("num_batches_tracked"):
            continue  # torch-fidelity's converter does not write them
        if key.endswith("conv.weight"):
            value = torch.randn(value.shape) * (2.0 / value[0].numel()) ** 0.5
        out[key] = value
    return out


@pytest.fixture(scope="module")
def weights_file(state_dict: dict[str, torch.Tensor], tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("inception") / "weights-inception-2015-12-05-6726825d.pth"
    torch.save(state_dict, path)
    return path


@pytest.fixture(scope="module")
def features(weights_file: Path) -> InceptionV3Features:
    return InceptionV3Features(weights_file)


def test_module_has_the_checkpoint_layout(state_dict: dict[str, torch.Tensor]) -> None:
    for key, shape in KNOWN_KEYS.items():
        assert tuple(state_dict[key].shape) == shape, key
    # 94 conv + BatchNorm layers (5 tensors each) and the 1008-class fc: 472 tensors
    assert len(state_dict) == 94 * 5 + 2
    assert not any(k.startswith("AuxLogits") for k in state_dict)
    n_params = sum(p.numel() for p in InceptionV3().parameters())
    assert n_params == 23_850_960  # torchvision Inception3(num_classes=1008, aux_logits=False)


def test_features_shape_grayscale_batching_and_protocol(
    features: InceptionV3Features, weights_file: Path
) -> None:
    gray = np.random.default_rng(0).integers(0, 256, (2, 24, 20, 1), dtype=np.uint8)
    out = features(np.repeat(gray, 3, axis=3))
    assert out.shape == (2, 2048) and out.dtype == np.float64
    assert np.isfinite(out).all() and out.std() > 1e-3
    # grayscale is repeated to RGB; one image per batch gives the same features
    one_by_one = InceptionV3Features(weights_file, batch_size=1)(gray)
    np.testing.assert_allclose(one_by_one, out, rtol=1e-4, atol=1e-5 * np.abs(out).max())
    assert features.name == "inception-v3-pool3"
    assert features.protocol["weights_file"] == weights_file.name
    assert len(features.protocol["weights_sha256"]) == 64
    assert features.protocol["preprocess"] == "torch-fidelity"
    assert features(gray[:0]).shape == (0, 2048)


def test_preprocessing_modes() -> None:
    images = torch.randint(0, 256, (2, 3, 31, 17), dtype=torch.uint8)
    tf = _preprocess(images, "torch-fidelity")
    assert tf.shape == (2, 3, 299, 299) and tf.dtype == torch.float32
    assert torch.equal(tf, (resize_bilinear_tf1(images.float()) - 128.0) / 128.0)
    pt = _preprocess(images, "pytorch-fid")
    expected = F.interpolate(images / 255.0, size=(299, 299), mode="bilinear", align_corners=False)
    assert torch.allclose(pt, 2.0 * expected - 1.0)
    assert float(tf.min()) >= -1.0 and float(tf.max()) < 1.0  # (255 - 128) / 128 < 1
    assert float(pt.min()) >= -1.0 and float(pt.max()) <= 1.0


def test_missing_key_names_the_file(state_dict: dict[str, torch.Tensor], tmp_path: Path) -> None:
    path = tmp_path / "broken.pth"
    torch.save({k: v for k, v in state_dict.items() if k != "Mixed_6c.branch1x1.conv.weight"}, path)
    with pytest.raises(UserError, match=r"broken\.pth.*'Mixed_6c\.branch1x1\.conv\.weight'"):
        InceptionV3Features(path)


def test_wrong_shape_and_extra_keys_are_rejected(
    state_dict: dict[str, torch.Tensor], tmp_path: Path
) -> None:
    small = {"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 3, 3)}
    path = tmp_path / "small.pth"
    torch.save(small, path)
    with pytest.raises(UserError, match="missing key"):
        InceptionV3Features(path)
    shaped = dict(state_dict)
    shaped["fc.weight"] = torch.zeros(1000, 2048)  # torchvision's ImageNet head, not the FID one
    torch.save(shaped, path)
    with pytest.raises(UserError, match=r"'fc\.weight' has shape \(1000, 2048\)"):
        InceptionV3Features(path)
    extra = dict(state_dict)
    extra["AuxLogits.fc.weight"] = torch.zeros(1000, 768)
    torch.save(extra, path)
    with pytest.raises(UserError, match="unexpected key"):
        InceptionV3Features(path)


def test_missing_or_unreadable_file_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"nope\.pth does not exist.*weights-inception"):
        InceptionV3Features(tmp_path / "nope.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match=r"junk\.pth is not a usable.*pt_inception"):
        InceptionV3Features(junk)
    listing = tmp_path / "list.pth"
    torch.save([torch.zeros(3)], listing)
    with pytest.raises(UserError, match="not a state dict"):
        InceptionV3Features(listing)


def test_bad_images_and_options_raise_value_error(features: InceptionV3Features) -> None:
    with pytest.raises(ValueError, match="uint8"):
        features(np.zeros((1, 8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="uint8"):
        features(np.zeros((1, 8, 8, 4), dtype=np.uint8))
    with pytest.raises(ValueError, match="preprocess"):
        InceptionV3Features("unused.pth", preprocess="tensorflow")


# --------------------------------------------------------------------------- resizing


def test_tf1_resize_samples_without_half_pixel_offset() -> None:
    x = torch.tensor([[[[0.0, 10.0], [0.0, 10.0]]]])  # (1, 1, 2, 2), columns 0 and 10
    out = resize_bilinear_tf1(x, size=4)
    # output i samples input coordinate i * 2 / 4; the last column repeats at the border
    assert out[0, 0].tolist() == [[0.0, 5.0, 10.0, 10.0]] * 4
    # torch's half-pixel interpolate differs, which is why the choice is recorded
    torch_out = F.interpolate(x, size=(4, 4), mode="bilinear", align_corners=False)
    assert torch_out[0, 0, 0].tolist() == [0.0, 2.5, 7.5, 10.0]


def test_tf1_resize_is_identity_at_299_and_matches_torch_on_integer_downscale() -> None:
    x = torch.rand(1, 3, 299, 299)
    assert torch.equal(resize_bilinear_tf1(x), x)
    big = torch.rand(1, 1, 8, 8)
    # downscale by 2: TF1 picks the even pixels exactly
    assert torch.equal(resize_bilinear_tf1(big, size=4), big[:, :, ::2, ::2])
