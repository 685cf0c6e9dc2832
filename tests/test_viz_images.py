"""Pictures of image runs: grids, real beside generated, the GIF of grids, latent walks."""

import numpy as np
from PIL import Image

from gankit.viz.images import (
    MIN_SIDE,
    image_grid,
    latent_walk,
    real_beside_fake,
    sweep_gif,
    training_gif,
    write_snapshot_pictures,
)


def _solid(n: int, h: int, w: int, c: int, value: int) -> np.ndarray:
    return np.full((n, h, w, c), value, np.uint8)


def test_grid_places_each_image_and_enlarges_small_ones():
    imgs = np.stack([_solid(1, 8, 8, 1, v)[0] for v in (0, 100, 200, 255)])
    grid = image_grid(imgs, cols=2, pad=2)
    f = MIN_SIDE // 8  # 8x8 digits are drawn 12x larger, crisp (nearest neighbour)
    assert grid.shape == (2 * (8 * f + 2) + 2, 2 * (8 * f + 2) + 2, 3)
    # image i sits at row i // 2, column i % 2, grey repeated to RGB
    for i, v in enumerate((0, 100, 200, 255)):
        r, c = divmod(i, 2)
        y, x = 2 + r * (8 * f + 2), 2 + c * (8 * f + 2)
        assert (grid[y : y + 8 * f, x : x + 8 * f] == v).all()
    assert (grid[0] == 255).all()  # white gutter


def test_large_frames_are_not_enlarged():
    grid = image_grid(_solid(2, 210, 160, 3, 7), cols=2, pad=0)
    assert grid.shape == (210, 320, 3)


def test_real_beside_fake_shows_both_with_labels():
    real, fake = _solid(1, 8, 8, 3, 10)[0], _solid(1, 8, 8, 3, 240)[0]
    pic = real_beside_fake(real, fake, step=1200)
    assert pic.dtype == np.uint8 and pic.shape[1] > 2 * MIN_SIDE
    left, right = pic[:, : pic.shape[1] // 2], pic[:, pic.shape[1] // 2 :]
    assert (left == 10).all(axis=-1).sum() == 160**2  # the real image, enlarged to 160x160
    assert (right == 240).all(axis=-1).sum() >= 160**2
    # the header holds dark text pixels
    assert (pic[:20] < 100).any()


def test_snapshot_pictures_and_gif(tmp_path):
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    real = _solid(4, 8, 8, 1, 50)
    for k, step in enumerate((0, 10, 20)):
        fake = _solid(4, 8, 8, 1, 80 * k)
        score = np.array([0.9, 0.1, 0.6, 0.2], np.float32)
        np.savez(snaps / f"step_{step:07d}.npz", step=step, fake=fake, fake_score=score)
        write_snapshot_pictures(snaps, step, real, fake, 0.5)
    assert (snaps / "step_0000020.png").is_file() and (snaps / "grid_0000020.png").is_file()
    gif = Image.open(training_gif(tmp_path, fps=5))
    assert gif.n_frames == 3
    assert (snaps / "last.png").is_file()


def test_training_gif_thins_long_runs_keeping_the_last(tmp_path):
    snaps = tmp_path / "snapshots"
    snaps.mkdir()
    for step in range(0, 500, 10):
        np.savez(snaps / f"step_{step:07d}.npz", step=step, fake=_solid(1, 4, 4, 1, step % 256))
    gif = Image.open(training_gif(tmp_path, fps=5, max_frames=7))
    assert gif.n_frames == 7
    gif.seek(6)
    last = np.asarray(Image.open(snaps / "last.png"))
    assert last.shape[0] > 0


def test_latent_walk_passes_through_the_key_points_on_a_loop():
    z = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    for spherical in (True, False):
        walk = latent_walk(z, 4, spherical)
        assert walk.shape == (12, 5)
        np.testing.assert_allclose(walk[::4], z, rtol=1e-6)
    # spherical steps keep norms between those of the key points (no shrinking midway)
    walk = latent_walk(z, 8, True)
    norms = np.linalg.norm(walk, axis=1)
    assert norms.min() >= np.linalg.norm(z, axis=1).min() * 0.999


def test_sweep_gif_puts_image_runs_side_by_side(tmp_path):
    runs = []
    for k, n_snaps in enumerate((3, 2)):  # the shorter run holds its last grid
        snaps = tmp_path / f"r{k}" / "snapshots"
        snaps.mkdir(parents=True)
        for i in range(n_snaps):
            np.savez(snaps / f"step_{10 * i:07d}.npz", step=10 * i, fake=_solid(4, 8, 8, 1, 60 * i))
        runs.append(tmp_path / f"r{k}")
    gif = Image.open(sweep_gif(runs, ["lr=1e-3", "lr=1e-4"], tmp_path / "sweep.gif"))
    assert gif.n_frames == 3
    one = np.asarray(Image.open(tmp_path / "sweep.png"))
    assert one.shape[1] > 2 * 2 * MIN_SIDE  # two grids of 2x2 enlarged digits
