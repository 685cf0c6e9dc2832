"""The numbers of the lab's divergence chart: KL(real || fake) and JS between the data and
G's samples on a fixed histogram grid over the plot (gankit.metrics.divergence), measured
at each row the session logs, and their real-data floor.

The fake samples are the ones the doctor's signals just drew from their fixed latent batch
(gankit.signals), so the chart costs no extra pass of G and its curve is G's own change,
not sampling noise. The floor is the same divergence between two real samples of that size
(held-out against training points): what a perfect G would score with so few samples.
"""

from __future__ import annotations

import math

import numpy as np

from gankit.data.toy import PointData
from gankit.metrics.divergence import histogram_divergences


class RealFakeDivergence:
    def __init__(self, data: PointData, extent: np.ndarray, n: int) -> None:
        self.extent = extent
        self.real = data.holdout[:n]
        floor = histogram_divergences(self.real, data.train[: len(self.real)], extent)
        self.floor = {k: round(v, 5) for k, v in floor.items()}

    def __call__(self, fake: np.ndarray) -> dict[str, float]:
        """``kl`` and ``js`` of ``fake`` against the data; NaN for a diverged G."""
        if not np.isfinite(fake).all():
            return {"kl": math.nan, "js": math.nan}
        return histogram_divergences(self.real, fake, self.extent)
