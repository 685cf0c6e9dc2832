"""The scores ``gankit eval`` computes, in the order eval.json and the headline show them.

Each entry says which data it applies to, how to compute it (the code lives in
gankit.metrics and is imported only when it runs), its headline number and which way that
is better, whether the doctor follows it over the run's evaluations, and its headline rows.
Adding a score: its computing code in gankit.metrics, and an entry here.
"""

from __future__ import annotations

from typing import Any

from gankit.scores.score import Fields, Row, Score, ScoreInput


def _points(*kinds: str) -> Any:
    """Applies to point data (of these kinds; of any kind when none are named)."""

    def applies(data: Any) -> bool:
        from gankit.data.toy import PointData

        return isinstance(data, PointData) and (not kinds or data.kind in kinds)

    return applies


def _images(*kinds: str, shape: tuple[int, ...] | None = None) -> Any:
    """Applies to image data (of these kinds, of this per-image shape, where named)."""

    def applies(data: Any) -> bool:
        from gankit.data import ImageData

        if not isinstance(data, ImageData) or (kinds and data.kind not in kinds):
            return False
        return shape is None or tuple(data.train.shape[1:]) == shape

    return applies


def _percent(name: str, digits: int) -> Any:
    """A share in [0, 1] printed as a percentage: "97.5 %"."""
    return lambda f: f"{100 * f[name]:.{digits}f} %"


def _number(name: str, spec: str, scale: float | None = None) -> Any:
    """A field formatted by ``spec`` (after multiplying by ``scale``): "" prints a count as is."""
    return lambda f: format(f[name] if scale is None else scale * f[name], spec)


# --------------------------------------------------------------------------- points


def _modes(s: ScoreInput) -> Fields:
    import numpy as np

    from gankit.metrics import toy

    info = s.data.info
    return toy.mode_scores(s.x, np.asarray(info["centres"]), info["sigma"])


def _sine(s: ScoreInput) -> Fields:
    from gankit.metrics import toy

    return toy.sine_scores(s.x, s.data.info["noise_mean"])


def _gaussian(s: ScoreInput) -> Fields:
    from gankit.metrics import toy

    return toy.gaussian_scores(s.x, s.data.info["mean"], s.data.info["std"])


def _w1(s: ScoreInput) -> Fields:
    from gankit.metrics import toy

    return toy.wasserstein1(s.x, s.data.holdout, max_points=s.cfg.eval.w1_points, seed=s.cfg.seed)


MODES = Score(
    key="modes",
    applies=_points("ring8", "grid25"),
    compute=_modes,
    main="modes",
    better="higher",
    followed=True,
    rows=(
        Row("modes captured", lambda m: f"{m['modes']} / {m['n_modes']}", _number("modes", "")),
        Row("high quality", _percent("high_quality", 1)),
        Row("reverse KL", _number("reverse_kl", ".4f")),
    ),
    every_draw=lambda m: (
        f"{m['modes']} modes, {100 * m['high_quality']:.1f} %, KL {m['reverse_kl']:.4f}"
    ),
)
SINE = Score(
    key="sine",
    applies=_points("sine"),
    compute=_sine,
    main="curve_distance",
    better="lower",
    far=10.0,  # healthy runs score under the floor (0.005 against 0.010)
    rows=(
        Row("distance to curve", _number("curve_distance", ".4f")),
        Row("x coverage", _percent("x_coverage", 0)),
    ),
)
GAUSSIAN = Score(
    key="gaussian",
    applies=_points("gaussian1d"),
    compute=_gaussian,
    main="w1",  # to N(mean, std)'s quantiles; the mean and std are what the headline shows
    better="lower",
    rows=(Row("mean / std", lambda g: f"{g['mean']:.3f} / {g['std']:.3f}"),),
)
W1 = Score(
    key="w1",
    applies=_points(),
    compute=_w1,
    main="value",
    better="lower",
    followed=True,
    far=10.0,  # healthy point runs score near their floor or under it
    rows=(Row("Wasserstein-1", _number("value", ".4f")),),
)

# --------------------------------------------------------------------------- images


def _fd(s: ScoreInput) -> Fields:
    from gankit.metrics import images

    return images.frechet_distance(s.real_features, s.fake_features())


def _kid(s: ScoreInput) -> Fields:
    from gankit.metrics import images

    return images.kid(s.real_features, s.fake_features(), seed=s.cfg.seed)


def _precision_recall(s: ScoreInput) -> Fields:
    from gankit.metrics import images

    return images.precision_recall(s.real_features, s.fake_features())


def _density_coverage(s: ScoreInput) -> Fields:
    from gankit.metrics import images

    return images.density_coverage(s.real_features, s.fake_features())


def _classes(s: ScoreInput) -> Fields:
    from gankit.metrics.digit_classifier import class_counts

    return class_counts(s.x)


def _stacked_modes(s: ScoreInput) -> Fields:
    from gankit.metrics.digit_classifier import stacked_modes

    return stacked_modes(s.x)


def _class_shares(c: Fields) -> str:
    shares = c["shares"]
    return f"{c['coverage']} / 10, {100 * min(shares):.0f}-{100 * max(shares):.0f} % each"


FD = Score(
    key="fd",
    applies=_images(),
    compute=_fd,
    main="value",
    better="lower",
    followed=True,
    feature_space=True,
    far=25.0,  # healthy image runs: 1-9x the floor (breakout-fast 0.9-1.8x, stacked-digits 9x)
    rows=(
        Row(
            lambda f: f"Fréchet distance ({f['protocol']['features']['name']})",
            _number("value", ".4g"),
        ),
    ),
)
KID = Score(
    key="kid",
    applies=_images(),
    compute=_kid,
    main="value",
    better="lower",
    feature_space=True,
    rows=(Row("KID x 1000", _number("value", ".3g", scale=1000)),),
)
PRECISION_RECALL = Score(
    key="precision_recall",
    applies=_images(),
    compute=_precision_recall,
    main="recall",  # G's variety; precision is its samples' quality
    better="higher",
    feature_space=True,
    far=3.0,  # recall: healthy 0.83-0.88 against floors near 0.9
    rows=(Row("precision / recall", lambda p: f"{p['precision']:.2f} / {p['recall']:.2f}"),),
)
DENSITY_COVERAGE = Score(
    key="density_coverage",
    applies=_images(),
    compute=_density_coverage,
    main="coverage",  # density is near 1 for real samples and may exceed it
    better="higher",
    feature_space=True,
    # coverage: healthy digits 0.997-1.0, as the floor's, but healthy breakout-fast runs 0.12
    # and 0.24 against 0.75 (their FD at the floor's): far is an order of magnitude below
    far=10.0,
    rows=(Row("density / coverage", lambda d: f"{d['density']:.2f} / {d['coverage']:.2f}"),),
)
CLASSES = Score(
    key="classes",
    applies=_images("digits", shape=(8, 8, 1)),  # the classifier reads 8x8 one-channel digits
    compute=_classes,
    main="coverage",
    better="higher",
    rows=(Row("digit classes", _class_shares, lambda c: f"{c['coverage']} / 10"),),
)
STACKED_MODES = Score(
    key="stacked_modes",
    applies=_images("stacked-digits"),
    compute=_stacked_modes,
    main="modes",
    better="higher",
    followed=True,
    rows=(
        Row("modes (of 1,000)", _number("modes", "")),
        Row("reverse KL", _number("reverse_kl", ".3f")),
    ),
)

ENTRIES: tuple[Score, ...] = (
    MODES,
    SINE,
    GAUSSIAN,
    W1,
    FD,
    KID,
    PRECISION_RECALL,
    DENSITY_COVERAGE,
    CLASSES,
    STACKED_MODES,
)
