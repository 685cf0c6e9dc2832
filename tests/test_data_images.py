import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.data import images as gi
from gankit.data.images import (
    ImageSkipWarning,
    digits,
    load_array,
    load_folder,
    resize,
    stacked_digits,
    to_channels,
)
from gankit.errors import UserError

RED_L = 76  # Pillow's luminance of (255, 0, 0)


def _solid(mode: str, colour, size=(20, 12)) -> Image.Image:
    return Image.new(mode, size, colour)


@pytest.fixture
def mixed_folder(tmp_path: Path) -> Path:
    """Five good images (one in a subfolder), three broken image files and a text file."""
    root = tmp_path / "faces"
    (root / "sub").mkdir(parents=True)
    _solid("RGB", (255, 0, 0)).save(root / "a_red.png")
    _solid("L", 100).save(root / "b_grey.JPG", quality=95)  # suffix case must not matter
    _solid("RGBA", (255, 0, 0, 128)).save(root / "c_rgba.png")
    _solid("RGB", (0, 0, 255)).quantize(4).save(root / "sub" / "d_palette.png")
    Image.fromarray(np.full((12, 20), 32896, np.uint16)).save(root / "sub" / "e_16bit.png")
    rng = np.random.default_rng(0)
    (root / "f_corrupt.jpg").write_bytes(rng.integers(0, 256, 500, dtype=np.uint8).tobytes())
    (root / "g_empty.png").write_bytes(b"")
    noisy = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    noisy.save(root / "full.tmp", format="PNG")
    data = (root / "full.tmp").read_bytes()
    (root / "full.tmp").unlink()
    (root / "sub" / "h_truncated.png").write_bytes(data[: len(data) // 2])
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.mark.parametrize("channels", [1, 3])
def test_load_folder_mixed(mixed_folder: Path, channels: int):
    with pytest.warns(ImageSkipWarning) as record:
        x = load_folder(mixed_folder, (8, 10), channels)
    assert len(record) == 1
    msg = str(record[0].message)
    assert "skipped 3 of 8 files" in msg and str(mixed_folder) in msg and "f_corrupt.jpg" in msg
    assert x.shape == (5, 8, 10, channels) and x.dtype == np.uint8
    # sorted order: a_red, b_grey, c_rgba, sub/d_palette, sub/e_16bit
    expected_rgb = [(255, 0, 0), (100, 100, 100), (255, 127, 127), (0, 0, 255), (128, 128, 128)]
    for img, rgb in zip(x, expected_rgb, strict=True):
        want = to_channels(np.array(rgb, np.uint8).reshape(1, 1, 1, 3), channels)[0, 0, 0]
        assert np.abs(img.astype(int) - want).max() <= 2, (img[0, 0], want)
    if channels == 1:
        assert (x[0] == RED_L).all()
    else:
        assert (x[0] == (255, 0, 0)).all()


def test_load_folder_transparent_is_white(tmp_path: Path):
    _solid("RGBA", (0, 0, 0, 0)).save(tmp_path / "clear.png")
    _solid("LA", (0, 0)).save(tmp_path / "clear_la.png")
    assert (load_folder(tmp_path, (4, 4), 3) == 255).all()


def test_load_folder_keeps_the_centre(tmp_path: Path):
    wide = np.zeros((40, 120, 3), np.uint8)
    wide[:, :40] = (0, 0, 255)
    wide[:, 40:80] = (255, 0, 0)
    wide[:, 80:] = (0, 255, 0)
    Image.fromarray(wide).save(tmp_path / "wide.png")
    Image.fromarray(wide.transpose(1, 0, 2).copy()).save(tmp_path / "wide_tall.png")
    x = load_folder(tmp_path, (16, 16), 3)
    assert x.shape == (2, 16, 16, 3)
    inner = x[:, 2:-2, 2:-2].astype(int)  # the filter may blend a pixel or two at the cut
    assert (np.abs(inner - (255, 0, 0)) <= 2).all()


def test_load_folder_order_is_sorted_and_threads_agree(tmp_path: Path):
    n = gi.THREADS_FROM + 3
    for i in range(n):
        _solid("L", i * 5, (6, 6)).save(tmp_path / f"{i:03d}.png")
    x = load_folder(tmp_path, (4, 4), 1)
    assert x[:, 0, 0, 0].tolist() == [i * 5 for i in range(n)]


def test_load_folder_downscales_jpeg(tmp_path: Path):
    big = np.zeros((400, 600, 3), np.uint8)
    big[:, :, 1] = 200
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=95)
    x = load_folder(tmp_path, (32, 32), 3)
    assert x.shape == (1, 32, 32, 3) and np.abs(x.astype(int) - (0, 200, 0)).max() <= 3


def test_load_folder_follows_exif_rotation(tmp_path: Path):
    stored = np.zeros((10, 20, 3), np.uint8)
    stored[:, :10] = (255, 0, 0)
    stored[:, 10:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise: the left half becomes the top
    Image.fromarray(stored).save(tmp_path / "phone.jpg", exif=exif, quality=95)
    x = load_folder(tmp_path, (20, 10), 3).astype(int)
    assert np.abs(x[0, 2:8] - (255, 0, 0)).max() <= 8
    assert np.abs(x[0, 12:18] - (0, 0, 255)).max() <= 8


def test_load_folder_errors(tmp_path: Path):
    with pytest.raises(UserError, match="does not exist") as e:
        load_folder(tmp_path / "nope", (8, 8), 3)
    assert str(tmp_path / "nope") in str(e.value)
    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(UserError, match="not a folder"):
        load_folder(tmp_path / "file.png", (8, 8), 3)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("hi")
    with pytest.raises(UserError, match="holds no readable PNG/JPEG/BMP/WebP image") as e:
        load_folder(empty, (8, 8), 3)
    assert str(empty) in str(e.value)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jpg").write_bytes(b"garbage")
    (bad / "b.png").write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an error, not a warning as well
        with pytest.raises(UserError, match="all 2 image files fail") as e:
            load_folder(bad, (8, 8), 3)
    assert str(bad) in str(e.value)


# --- arrays ---------------------------------------------------------------------------------


def _save(tmp_path: Path, arr: np.ndarray, name: str = "x.npy") -> Path:
    p = tmp_path / name
    np.save(p, arr)
    return p


@pytest.mark.parametrize(
    ("shape", "hwc"),
    [
        ((5, 6, 7), (6, 7, 1)),  # (N, H, W)
        ((5, 6, 7, 1), (6, 7, 1)),
        ((5, 6, 7, 3), (6, 7, 3)),
        ((5, 6, 7, 4), (6, 7, 4)),
        ((5, 3, 6, 7), (6, 7, 3)),  # (N, C, H, W)
        ((5, 1, 6, 7), (6, 7, 1)),
        ((5, 784), (28, 28, 1)),  # MNIST-style flat
    ],
)
def test_load_array_layouts(tmp_path: Path, shape, hwc):
    arr = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    p = _save(tmp_path, arr)
    for channels in (1, 3):
        x = load_array(p, None, channels)
        assert x.shape == (5, hwc[0], hwc[1], channels) and x.dtype == np.uint8
    nhwc = load_array(p, None, 3 if hwc[2] == 3 else 1)
    if hwc[2] in (1, 3):  # the layout is read the right way round, values untouched
        if len(shape) == 2:
            want = arr.reshape(5, 28, 28, 1)
        elif len(shape) == 3:
            want = arr[..., None]
        else:
            want = arr if shape[-1] == hwc[2] else arr.transpose(0, 2, 3, 1)
        np.testing.assert_array_equal(nhwc, want)


def test_load_array_value_ranges(tmp_path: Path):
    want = np.array([0, 64, 128, 255], np.uint8).reshape(1, 2, 2)
    unit = want.astype(np.float32) / 255
    for arr in (want, unit, unit * 2 - 1, unit.astype(np.float64), want.astype(np.int64)):
        x = load_array(_save(tmp_path, arr), None, 1)
        np.testing.assert_array_equal(x[..., 0], want)


def test_load_array_resize_and_channels(tmp_path: Path):
    arr = np.zeros((2, 10, 20, 4), np.uint8)  # fully transparent -> white
    p = _save(tmp_path, arr)
    x = load_array(p, (5, 5), 3)
    assert x.shape == (2, 5, 5, 3) and (x == 255).all()
    assert load_array(p, (10, 20), 1).shape == (2, 10, 20, 1)


def test_load_array_npz(tmp_path: Path):
    a = np.ones((3, 4, 4), np.uint8)
    np.savez(tmp_path / "one.npz", whatever=a)
    np.savez(tmp_path / "named.npz", y=np.arange(3), images=a * 7)
    np.savez(tmp_path / "keras.npz", x_train=a * 9, y_train=np.arange(3))
    np.savez(tmp_path / "unnamed.npz", a, a)
    assert load_array(tmp_path / "one.npz", None, 1).max() == 1
    assert load_array(tmp_path / "named.npz", None, 1).max() == 7
    assert load_array(tmp_path / "keras.npz", None, 1).max() == 9
    with pytest.raises(UserError, match="arr_0, arr_1.*single array or one named x"):
        load_array(tmp_path / "unnamed.npz", None, 1)


@pytest.mark.parametrize(
    ("arr", "match"),
    [
        (np.full((2, 4, 4), np.nan, np.float32), "NaN"),
        (np.full((2, 4, 4), 2.0), r"floats in \[2, 2\]"),
        (np.linspace(-2, 1, 32).reshape(2, 4, 4), r"floats in \[-2, 1\]"),
        (np.full((2, 4, 4), 300, np.int32), "values 300..300"),
        (np.full((2, 4, 4), "a"), "type <U1"),
        (np.zeros((2, 30), np.uint8), r"shape \(2, 30\)"),  # flat, 30 not a square
        (np.zeros((2, 5, 6, 7), np.uint8), r"shape \(2, 5, 6, 7\)"),
        (np.zeros((2, 1, 4, 4, 3), np.uint8), "accepted: .N, H, W."),
        (np.zeros(16, np.uint8), "flat .N, D."),
        (np.zeros((0, 4, 4), np.uint8), "no images"),
    ],
)
def test_load_array_rejects(tmp_path: Path, arr: np.ndarray, match: str):
    p = _save(tmp_path, arr)
    with pytest.raises(UserError, match=match) as e:
        load_array(p, None, 3)
    assert str(p) in str(e.value)


def test_load_array_bad_files(tmp_path: Path):
    with pytest.raises(UserError, match="does not exist"):
        load_array(tmp_path / "missing.npy", None, 1)
    (tmp_path / "x.csv").write_text("1,2\n")
    with pytest.raises(UserError, match=r"suffix '\.csv'.*\.npy or \.npz"):
        load_array(tmp_path / "x.csv", None, 1)
    (tmp_path / "text.npy").write_text("hello, not an array")
    with pytest.raises(UserError, match="not a readable NumPy file") as e:
        load_array(tmp_path / "text.npy", None, 1)
    assert str(tmp_path / "text.npy") in str(e.value)
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    with pytest.raises(UserError, match="not a readable NumPy file"):
        load_array(tmp_path / "broken.npz", None, 1)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UserError, match="not a readable NumPy file"):
        load_array(tmp_path / "obj.npy", None, 1)


# --- conversions ----------------------------------------------------------------------------


def test_to_channels_matches_pillow():
    rgb = np.random.default_rng(1).integers(0, 256, (1, 16, 16, 3), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(rgb[0]).convert("L"))
    np.testing.assert_array_equal(to_channels(rgb, 1)[0, ..., 0], pil)
    grey = to_channels(rgb, 1)
    assert to_channels(grey, 3).shape == (1, 16, 16, 3) and (to_channels(grey, 3) == grey).all()
    assert to_channels(rgb, 3) is rgb
    rgba = np.concatenate([rgb, rgb[..., :1]], axis=-1)
    white = Image.new("RGB", (16, 16), (255, 255, 255))
    white.paste(Image.fromarray(rgb[0]), mask=Image.fromarray(rgb[0, ..., 0]))
    np.testing.assert_array_equal(to_channels(rgba, 3)[0], np.asarray(white))


def test_resize_crops_the_centre():
    img = np.zeros((3, 10, 30, 1), np.uint8)
    img[:, :, 10:20] = 200
    out = resize(img, (4, 4))
    assert out.shape == (3, 4, 4, 1) and (np.abs(out[:, 1:-1, 1:-1].astype(int) - 200) <= 2).all()
    assert resize(img, (10, 30)) is img
    assert resize(np.zeros((2, 8, 8, 3), np.uint8), (16, 12)).shape == (2, 16, 12, 3)


# --- digits ---------------------------------------------------------------------------------


def test_digits():
    from sklearn.datasets import load_digits

    x, y = digits()
    sk = load_digits()
    assert x.shape == (1797, 8, 8, 1) and x.dtype == np.uint8 and x.max() == 255
    assert y.dtype == np.int64 and y.shape == (1797,) and set(y.tolist()) == set(range(10))
    np.testing.assert_array_equal(y, sk.target)
    np.testing.assert_array_equal(x[..., 0], np.floor(sk.images * 255 / 16 + 0.5))
    x[:] = 0  # the caller's copy; the next call is unharmed
    assert digits()[0].max() == 255


def test_stacked_digits():
    x, y = digits()
    s, lab = stacked_digits(500, seed=3)
    assert s.shape == (500, 8, 8, 3) and s.dtype == np.uint8 and lab.dtype == np.int64
    # every channel is one of the source digits, and the label spells out their classes
    flat = x.reshape(len(x), -1)
    for img, label in zip(s[:50], lab[:50], strict=True):
        classes = []
        for c in range(3):
            match = np.flatnonzero((flat == img[..., c].reshape(-1)).all(axis=1))
            assert len(match) > 0
            classes.append({int(v) for v in y[match]})
        assert label // 100 in classes[0] and label // 10 % 10 in classes[1]
        assert label % 10 in classes[2]
    s2, lab2 = stacked_digits(500, seed=3)
    np.testing.assert_array_equal(s, s2)
    np.testing.assert_array_equal(lab, lab2)
    assert not np.array_equal(stacked_digits(500, seed=4)[1], lab)


def test_stacked_digits_covers_all_modes():
    _, lab = stacked_digits(50_000, seed=0)
    counts = np.bincount(lab, minlength=1000)
    assert len(counts) == 1000 and counts.min() > 0
    assert counts.max() < 3 * counts.mean()


def test_stacked_digits_subset():
    x, y = digits()
    keep = y < 2
    s, lab = stacked_digits(2000, seed=0, images=x[keep], labels=y[keep])
    assert s.shape == (2000, 8, 8, 3)
    assert set(np.unique(lab).tolist()) == {0, 1, 10, 11, 100, 101, 110, 111}
    with pytest.raises(ValueError, match="both"):
        stacked_digits(5, 0, images=x)
