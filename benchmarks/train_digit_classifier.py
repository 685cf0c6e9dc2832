"""Train the digit classifier that gankit ships for Stacked-MNIST-style mode counts.

    .venv/bin/python -m benchmarks.train_digit_classifier

Trains ``gankit.metrics.digit_classifier.DigitNet`` on scikit-learn's 8x8 digits (a fixed,
stratified 75/25 split, seed 0), prints the held-out accuracy and writes
``gankit/metrics/weights/digit_classifier.safetensors`` with a JSON of the protocol beside it.

Why the augmentation: the classifier will read GAN samples, which are shifted, fainter or noisier
than the training digits. Random shifts of up to one pixel, a random gain on the intensities and
a little additive noise teach it to tolerate that, at no cost in held-out accuracy. One thread and
a fixed seed make the run repeatable; it takes well under a minute on one CPU core.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from gankit.metrics.digit_classifier import WEIGHTS_JSON, WEIGHTS_PATH, DigitNet, to_tensor

SPLIT = {"test_size": 0.25, "random_state": 0, "stratify": True}
DATE = "2026-11-23"
COMMAND = "python -m benchmarks.train_digit_classifier"


def sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """uint8 (1797, 8, 8, 1) digits 0..255 and their labels, as ``gankit.data.images.digits``."""
    d = load_digits()
    images = np.round(d.images * 255.0 / 16.0).astype(np.uint8)[..., None]
    return images, d.target.astype(np.int64)


def split_indices(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The fixed train / held-out split recorded in the weights' JSON."""
    idx = np.arange(len(labels))
    return train_test_split(
        idx, test_size=SPLIT["test_size"], random_state=SPLIT["random_state"], stratify=labels
    )


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Shift by -1..1 pixel in each direction, scale intensities by 0.7..1.2, add noise 0.03."""
    n = len(x)
    padded = nn.functional.pad(x, (1, 1, 1, 1))
    dy = torch.randint(0, 3, (n,), generator=gen)
    dx = torch.randint(0, 3, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(8))[:, None, :, None].expand(n, 1, 8, 10)
    shifted = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(8))[:, None, None, :].expand(n, 1, 8, 8)
    shifted = shifted.gather(3, cols)
    gain = 0.7 + 0.5 * torch.rand(n, 1, 1, 1, generator=gen)
    noise = 0.03 * torch.randn(shifted.shape, generator=gen)
    return (shifted * gain + noise).clamp(0.0, 1.0)


@torch.no_grad()
def accuracy(net: DigitNet, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    return int((net(x).argmax(1) == y).sum()) / len(y)


def train(epochs: int, seed: int) -> tuple[DigitNet, dict]:
    images, labels = sklearn_digits()
    train_idx, test_idx = split_indices(labels)
    x_train, y_train = to_tensor(images[train_idx]), torch.from_numpy(labels[train_idx])
    x_test, y_test = to_tensor(images[test_idx]), torch.from_numpy(labels[test_idx])

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = DigitNet()
    opt = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    batch = 64
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x_train), generator=gen)
        for start in range(0, len(order), batch):
            b = order[start : start + batch]
            loss = loss_fn(net(augment(x_train[b], gen)), y_train[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        if (epoch + 1) % 10 == 0:
            print(f"epoch {epoch + 1:3d}  held-out accuracy {accuracy(net, x_test, y_test):.4f}")

    info = {
        "name": "digit-classifier",
        "architecture": "conv3x3 32-pool-64-pool, linear 256-64-10, ReLU, dropout 0.3",
        "data": "sklearn.datasets.load_digits, values 0..16 scaled to round(v * 255 / 16) uint8",
        "split": SPLIT,
        "n_train": len(train_idx),
        "n_test": len(test_idx),
        "train_accuracy": accuracy(net, x_train, y_train),
        "held_out_accuracy": accuracy(net, x_test, y_test),
        "training": {
            "epochs": epochs,
            "batch": batch,
            "optimizer": "Adam lr 2e-3 cosine to 0, weight decay 1e-4",
            "augmentation": "shift +-1 px, gain 0.7..1.2, Gaussian noise sd 0.03, clip [0, 1]",
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
        },
        "seed": seed,
        "date": DATE,
        "command": COMMAND,
    }
    return net, info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    net, info = train(args.epochs, args.seed)
    info["train_seconds"] = round(time.perf_counter() - t0, 1)
    print(f"held-out accuracy {info['held_out_accuracy']:.4f} on {info['n_test']} digits")
    WEIGHTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in net.state_dict().items()}
    save_file(state, WEIGHTS_PATH)
    WEIGHTS_PATH.chmod(0o644)  # safetensors writes 0600; an installed package must be readable
    WEIGHTS_JSON.write_text(json.dumps(info, indent=2) + "\n")
    size = WEIGHTS_PATH.stat().st_size
    print(f"wrote {WEIGHTS_PATH} ({size / 1024:.0f} KB) and {WEIGHTS_JSON.name}")


if __name__ == "__main__":
    main()
