"""gankit in Jupyter: the lightened GIFs of cards and notebooks, and the live training bar."""

import numpy as np
from PIL import Image

from gankit import notebook
from gankit.progress import rate_text


def _gif(path, frames=50, size=(200, 100), duration=100):
    pictures = [
        Image.fromarray(np.full((size[1], size[0], 3), (5 * i, 100, 200 - 50 * (i % 4)), np.uint8))
        for i in range(frames)
    ]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=duration, loop=0)
    return path


def test_gif_thumbnail_keeps_the_pace_the_ends_and_the_shape(tmp_path):
    path = _gif(tmp_path / "a.gif")
    small = tmp_path / "small.gif"
    small.write_bytes(notebook.gif_thumbnail(path, width=100, max_frames=10))
    with Image.open(small) as gif:
        assert gif.n_frames == 10 and gif.size == (100, 50)
        assert gif.info["duration"] == 500  # 10 frames stand for 50 of 100 ms
        first = np.asarray(gif.convert("RGB"))[0, 0]
        gif.seek(9)
        last = np.asarray(gif.convert("RGB"))[0, 0]
    assert abs(int(first[0]) - 0) <= 3 and abs(int(last[0]) - 5 * 49) <= 3  # first and last kept


def test_gif_thumbnail_never_enlarges_or_adds_frames(tmp_path):
    path = _gif(tmp_path / "a.gif", frames=4, size=(60, 40))
    small = tmp_path / "small.gif"
    small.write_bytes(notebook.gif_thumbnail(path, width=400, max_frames=30))
    with Image.open(small) as gif:
        assert gif.n_frames == 4 and gif.size == (60, 40)


def test_live_bar_shows_steps_rate_losses_time_left_and_notes():
    bar = notebook.NotebookProgress(total=1000, done=0)
    bar.update(250, rate_text(0.5), "D 0.693 · G 0.701")
    html = bar._html()
    assert "250 / 1,000" in html and "2.0 s/it" in html and "D 0.693" in html
    assert "left" in html and "width:25.0%" in html
    bar.note("doctor: mode collapse from step 200")
    assert "mode collapse" in bar._html()
    assert "\x1b[" not in bar._html()


def test_rate_reads_as_seconds_per_step_below_one_a_second():
    assert rate_text(620.4) == "620 it/s"
    assert rate_text(1.0) == "1 it/s"
    assert rate_text(0.25) == "4.0 s/it"


def test_outside_a_kernel_it_is_not_a_notebook():
    assert notebook.in_notebook() is False
