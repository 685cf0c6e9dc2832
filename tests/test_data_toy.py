import re

import numpy as np
import pytest

from gankit.config import DataConfig
from gankit.data.toy import load_points, make_points, plot_extent
from gankit.errors import UserError
from gankit.metrics.toy import grid25_centres, ring8_centres


def test_sine_matches_the_seed():
    d = make_points(DataConfig(name="sine"), seed=0)
    x, y = d.train[:, 0], d.train[:, 1]
    assert d.train.shape == (6000, 2) and d.train.dtype == np.float32
    np.testing.assert_allclose(x, np.linspace(-1, 1, 6000), atol=1e-6)  # evenly spaced
    noise = y - np.sin(5 * x)
    assert noise.min() >= -1e-6 and noise.max() < 0.1 + 1e-6  # uniform in [0, 0.1)
    assert abs(noise.mean() - 0.05) < 0.003
    assert d.info["noise_mean"] == pytest.approx(0.05)


def test_sine_normal_noise():
    d = make_points(DataConfig(name="sine", noise="normal", noise_level=0.2), seed=1)
    noise = d.train[:, 1] - np.sin(5 * d.train[:, 0])
    assert abs(noise.std() - 0.2) < 0.01 and abs(noise.mean()) < 0.01


@pytest.mark.parametrize(("name", "sigma"), [("ring8", 0.01), ("grid25", 0.05)])
def test_mixtures_follow_pacgan(name, sigma):
    d = make_points(DataConfig(name=name, n=20000), seed=0)
    centres = ring8_centres() if name == "ring8" else grid25_centres()
    dist = np.linalg.norm(d.train[:, None, :] - centres[None], axis=2)
    nearest = dist.argmin(1)
    counts = np.bincount(nearest, minlength=len(centres))
    assert counts.min() > 0.8 * len(d.train) / len(centres)  # every mode, evenly
    resid = d.train - centres[nearest]
    assert resid.std() == pytest.approx(sigma, rel=0.05)


def test_ring8_centres_are_distinct():
    c = ring8_centres()
    gaps = np.linalg.norm(c[:, None] - c[None], axis=2) + np.eye(8) * 9
    assert gaps.min() > 0.7  # linspace(0, 2π, 8) would give a gap of 0


def test_gaussian1d_and_shapes():
    d = make_points(DataConfig(name="gaussian1d", n=20000), seed=0)
    assert d.train.shape == (20000, 1)
    assert d.train.mean() == pytest.approx(4.0, abs=0.05)
    assert d.train.std() == pytest.approx(1.25, abs=0.05)
    for name in ("spiral", "moons"):
        p = make_points(DataConfig(name=name, n=500, holdout=100), seed=0)
        assert p.train.shape == (500, 2) and p.holdout.shape == (100, 2)
        assert np.isfinite(p.train).all()


def test_same_seed_same_data_other_seed_other_data():
    a = make_points(DataConfig(name="ring8", n=100), seed=3).train
    b = make_points(DataConfig(name="ring8", n=100), seed=3).train
    c = make_points(DataConfig(name="ring8", n=100), seed=4).train
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_points_from_csv_with_header_and_any_dimension(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("a,b,c\n" + "\n".join(f"{i},{i * 2},{-i}" for i in range(50)) + "\n")
    pts = load_points(f)
    assert pts.shape == (50, 3) and pts.dtype == np.float32
    d = make_points(DataConfig(name="points", path=str(f)), seed=0)
    assert d.dim == 3 and len(d.train) + len(d.holdout) == 50
    assert plot_extent(d).shape == (4,)


def test_points_from_npy_1d(tmp_path):
    f = tmp_path / "p.npy"
    np.save(f, np.arange(10.0))
    assert load_points(f).shape == (10, 1)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("x,y\n1,2\n3,oops\n", "line 3: '3,oops' is not a row of numbers"),
        ("1,2\n3\n", "line 2: 1 values where earlier lines have 2"),
        ("x,y\n", "has no rows of numbers"),
    ],
)
def test_malformed_csv_names_the_line(tmp_path, content, fragment):
    f = tmp_path / "bad.csv"
    f.write_text(content)
    with pytest.raises(UserError, match=fragment):
        load_points(f)


def test_bad_point_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_points(tmp_path / "none.csv")
    (tmp_path / "p.txt").write_text("1,2\n")
    with pytest.raises(UserError, match="accepted: .csv, .npy"):
        load_points(tmp_path / "p.txt")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(UserError, match="not a readable .npy"):
        load_points(tmp_path / "junk.npy")
    np.save(tmp_path / "nan.npy", np.array([[1.0, 2.0], [np.nan, 1.0]]))
    with pytest.raises(UserError, match="point 1"):
        load_points(tmp_path / "nan.npy")
    with pytest.raises(UserError, match="needs data.path"):
        make_points(DataConfig(name="points"), seed=0)


def test_a_utf16_csv_loads_and_a_binary_one_is_one_sentence(tmp_path):
    f = tmp_path / "p.csv"
    f.write_bytes("x,y\n1,2\n3,4\n".encode("utf-16"))  # a spreadsheet's "Unicode text"
    np.testing.assert_array_equal(load_points(f), [[1, 2], [3, 4]])
    for content, fragment in [
        (b"\x80\x81\xfe1,2\n", "is not UTF-8 or UTF-16 text (invalid start byte at byte 0)"),
        (b"1,2\n\x003,4\n", "holds NUL characters; it is not a CSV text file"),
    ]:
        f.write_bytes(content)
        with pytest.raises(UserError) as err:
            load_points(f)
        assert str(err.value).startswith(f"points file {f} ") and fragment in str(err.value)


@pytest.mark.parametrize(
    ("array", "fragment"),
    [
        (np.array([[1 + 2j, 3], [4, 5]]), "type complex128"),  # never cast to its real part
        (np.array([[1e39, 0.0], [1.0, 2.0]]), "beyond float32's 3.4e38) in point 0"),
    ],
)
def test_complex_points_and_points_beyond_float32_are_refused(tmp_path, array, fragment):
    f = tmp_path / "p.npy"
    np.save(f, array)
    with pytest.raises(UserError, match=re.escape(fragment)):
        load_points(f)
    f.write_bytes(b"")
    with pytest.raises(UserError, match="is not a readable .npy array"):
        load_points(f)
