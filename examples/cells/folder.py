"""The cells of notebook folder; see cells/__init__.py."""

from __future__ import annotations

from cells.common import INSTALL, SHOW

FOLDER = [
    (
        "md",
        """
# 05 · A GAN on your own pictures

`gankit train folder --set data.path=faces/` trains on every picture in a folder: PNG, JPEG,
BMP and WebP, grayscale, RGB or RGBA, any size (squashed to the preset's size; unreadable
files are skipped and counted in one warning). In Python it is one call too.

To make this notebook run anywhere without a download, the next cell makes a folder of
pictures to stand in for yours: 1,500 crops of the two photographs scikit-learn ships, saved
as PNG and JPEG files. **With your own folder, skip that cell and set `FOLDER`.**
""",
    ),
    INSTALL,
    (
        "parameters",
        """
# Config keys laid over the run below; empty: the run as its outputs were made. The test
# suite shortens it here.
SHORTEN = {}
FOLDER = "my_pictures"  # your folder of pictures
""",
    ),
    SHOW,
    (
        "code",
        """
from pathlib import Path

from PIL import Image as PILImage
from sklearn.datasets import load_sample_images

rng = np.random.default_rng(0)
folder = Path(FOLDER)
if not folder.exists():  # the stand-in for your pictures: crops of two photographs
    folder.mkdir(parents=True)
    photos = load_sample_images().images  # a temple in China and a flower, 427x640 each
    for i in range(1500):
        photo = photos[i % 2]
        size = int(rng.integers(96, 200))
        y, x = rng.integers(0, photo.shape[0] - size), rng.integers(0, photo.shape[1] - size)
        crop = PILImage.fromarray(photo[y:y + size, x:x + size])
        crop.save(folder / (f"{i:04d}.png" if i % 3 else f"{i:04d}.jpg"))
files = sorted(folder.iterdir())
print(f"{len(files)} pictures in {folder}/")
show([plt.imread(p) for p in files[:6]], [p.name for p in files[:6]], height=2)
""",
    ),
    (
        "md",
        """
## Train

The `folder` preset is a 64x64 DCGAN with DiffAugment (a small folder needs augmentation to
keep D from memorising it), R1 and a moving average of G: 20,000 steps, a job for a GPU. On a
CPU this notebook trains it at 32x32 with three layers instead of four, for 3,000 steps
(about 10 minutes on two cores).
""",
    ),
    (
        "code",
        """
run = gankit.train(
    "folder",
    data={"path": FOLDER, "size": [32, 32]},
    model={"g_channels": [256, 128, 64], "d_channels": [64, 128, 256]},
    train={"steps": 3000, "snapshot_every": 250, "checkpoint_every": 1000},
    set=SHORTEN,
)
run
""",
    ),
    ("md", "## Real beside generated"),
    (
        "code",
        """
from gankit.viz.images import image_grid

show([image_grid(run.real(36, seed=1)), image_grid(run.sample(36, seed=0))],
     ["your pictures", f"generated at step {run.step:,}"], height=4.5)
""",
    ),
    (
        "md",
        """
## Keep the generator

`run.export(DIR)` (`gankit export RUN --out DIR`) writes the generator alone (safetensors), its
config and a model card; `gankit.load_generator(DIR)` samples from it without the run.
""",
    ),
    (
        "code",
        """
export = run.export(run.path.parent / f"{run.name}-generator")
generator = gankit.load_generator(export)
show([image_grid(generator.sample(16, seed=3))], [f"from {export.name}"], height=3.5)
""",
    ),
]
