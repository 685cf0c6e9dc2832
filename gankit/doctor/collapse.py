"""Mode collapse: samples that lose the data's variety, from the signals logged during
training (diversity, modes, classes) and from the scores of the last evaluation."""

from __future__ import annotations

from typing import Any

import numpy as np

from gankit.doctor.finding import Finding, Remedies
from gankit.doctor.series import MIN_WINDOW_ROWS, median

# Diversity (mean pairwise distance of samples over that of real data) below this over the
# last third of training: G makes nearly the same sample for most z. Healthy runs sit near
# 1 (0.8 to 1.1 on the toy and image presets); one mode of ring8 out of eight gives about 0.1.
DIVERSITY_COLLAPSED = 0.5
# ... or diversity fallen below this share of its own best: a collapse under way, even where
# the data's own spread makes the absolute level hard to read.
DIVERSITY_DROP = 0.5
# ... measured from at most this level, the real data's own spread: G starts as noise more
# spread out than the data (diversity 2 to 3 on Breakout frames) and narrows as it learns,
# which is no loss of variety
DIVERSITY_REFERENCE_MAX = 1.0
# While training goes on, a count of modes or classes below this share of its own best: a
# collapse under way. A smaller dip is G still finding and trading modes early on (grid25
# wanders between 5 and 9 of its 25 around step 1,200 before it reaches all 25 by 3,500);
# at the end every mode must be there.
COUNT_DROP = 0.5
# Stacked digits: fewer than this many of the 1,000 modes is a partial collapse (a good GAN
# reaches 990 or more, e.g. PacGAN's protocol).
STACKED_MODES_MIN = 990
# The sine: a share of x's range covered (gankit.metrics.toy.sine_scores) below this is the
# curve's partial collapse. Healthy runs cover 0.975 to 1 of its 40 bins; a sine trained at
# 20x the learning rate was seen at 0.275 with a diversity that alone looked healthy.
SINE_COVERAGE_MIN = 0.8
# Reverse KL (generated mode shares vs uniform) above this: the modes are badly uneven.
REVERSE_KL_MAX = 0.1
# Digit classes: a class share above this multiple of the uniform 1/10 is over-produced.
CLASS_SHARE_RATIO = 2.0
# The logged signals are judged over this last share of the rows (at least MIN_WINDOW_ROWS),
# the state training ends in; a mode lost early and found again is no finding.
LAST_FRACTION = 1 / 3
# The mixture components of the toy data with modes (gankit.metrics.toy).
N_MODES = {"ring8": 8, "grid25": 25}


def _latest_scores(
    rows: list[dict[str, Any]], eval_result: dict[str, Any] | None
) -> tuple[int, dict[str, Any]] | None:
    if eval_result and isinstance(eval_result.get("scores"), dict) and eval_result["scores"]:
        # G's every draw where the scores are of a truncated sampler: collapse is G's
        every = eval_result.get("scores_every_draw")
        return int(eval_result.get("step", 0)), every or eval_result["scores"]
    for r in reversed(rows):
        if isinstance(r.get("eval"), dict) and r["eval"]:
            return int(r.get("step", 0)), r["eval"]
    return None


def _from_scores(sc: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    """What the evaluation's mode, class, stacked-mode and sine scores say of collapse."""
    evidence: dict[str, float] = {}
    said: list[str] = []
    m = sc.get("modes")
    if isinstance(m, dict) and "modes" in m and "n_modes" in m:
        if m["modes"] < m["n_modes"]:
            said.append(f"the evaluation found {m['modes']} of {m['n_modes']} modes")
            evidence.update(eval_modes=float(m["modes"]), n_modes=float(m["n_modes"]))
        if float(m.get("reverse_kl", 0.0) or 0.0) > REVERSE_KL_MAX:
            said.append(f"mode shares are uneven (reverse KL {m['reverse_kl']:.3f})")
            evidence["eval_reverse_kl"] = float(m["reverse_kl"])
    c = sc.get("classes")
    if isinstance(c, dict) and "coverage" in c:
        top = max((float(v) for v in c.get("shares", [])), default=0.0)
        if c["coverage"] < 10:
            said.append(f"the evaluation found {c['coverage']} of 10 digit classes")
            evidence["eval_class_coverage"] = float(c["coverage"])
        if top > CLASS_SHARE_RATIO / 10:
            said.append(f"one class makes {100 * top:.0f} % of samples")
            evidence["eval_max_class_share"] = top
    sine = sc.get("sine")
    if isinstance(sine, dict) and sine.get("x_coverage", 1.0) < SINE_COVERAGE_MIN:
        said.append(f"the samples cover {100 * sine['x_coverage']:.0f} % of the curve's x")
        evidence["eval_x_coverage"] = float(sine["x_coverage"])
    st = sc.get("stacked_modes")
    if isinstance(st, dict) and "modes" in st:
        if st["modes"] < STACKED_MODES_MIN:
            said.append(f"{st['modes']} of {st.get('n_modes', 1000)} stacked modes")
            evidence["eval_stacked_modes"] = float(st["modes"])
        if float(st.get("reverse_kl", 0.0) or 0.0) > REVERSE_KL_MAX:
            said.append(f"stacked mode shares are uneven (reverse KL {st['reverse_kl']:.3f})")
            evidence["eval_stacked_reverse_kl"] = float(st["reverse_kl"])
    return said, evidence


def _from_signals(
    steps: np.ndarray, s: dict[str, np.ndarray], data_name: str, final: bool
) -> tuple[list[str], dict[str, float], int | None]:
    """What the diversity, mode and class signals say over the last third of the rows, and
    the first step of the stretch (ending at the last row) where they say it. While training
    goes on (``final`` False) only a loss counts, a fall to half its own best: G starts as
    nearly one point and spreads out, so a low level early on is no collapse yet."""
    n = len(steps)
    said: list[str] = []
    evidence: dict[str, float] = {}
    if n < MIN_WINDOW_ROWS:
        return said, evidence, None
    tail = slice(n - max(MIN_WINDOW_ROWS, int(n * LAST_FRACTION)), n)
    bad = np.zeros(n, dtype=bool)
    w = tail.stop - tail.start

    def best(x: np.ndarray) -> float:
        """The best level x held: the highest median over windows as long as the tail, so a
        single lucky row is not a level to fall from."""
        return max(median(x[i : i + w]) for i in range(0, n - w + 1, max(1, w // 2)))

    div = s["diversity"]
    if np.isfinite(div).any():
        top, last = min(best(div), DIVERSITY_REFERENCE_MAX), median(div[tail])
        floor = max(DIVERSITY_COLLAPSED, DIVERSITY_DROP * top) if final else DIVERSITY_DROP * top
        low = div < floor
        if last < floor:
            if last < DIVERSITY_DROP * top:
                said.append(
                    f"sample diversity fell to {last:.2f} of the real data's, from {top:.2f}"
                )
            else:
                said.append(f"sample diversity is {last:.2f} of the real data's")
            evidence.update(diversity=last, diversity_best=top)
            bad |= low
    k = N_MODES.get(data_name)
    if k and np.isfinite(s["modes"]).any():
        last, top = median(s["modes"][tail]), best(s["modes"])
        need = k if final else COUNT_DROP * top
        if last < need:
            said.append(f"samples reach {last:g} of {k} modes")
            evidence.update(modes=last, n_modes=float(k), modes_best=top)
            bad |= s["modes"] < need
        kl = median(s["mode_kl"][tail])
        if final and kl > REVERSE_KL_MAX:
            said.append(f"mode shares are uneven (reverse KL {kl:.3f})")
            evidence["mode_kl"] = kl
            bad |= s["mode_kl"] > REVERSE_KL_MAX
    if np.isfinite(s["classes"]).any():
        last, top = median(s["classes"][tail]), best(s["classes"])
        need = 10 if final else COUNT_DROP * top
        if last < need:
            said.append(f"samples show {last:g} of 10 digit classes")
            evidence.update(classes=last, classes_best=top)
            bad |= s["classes"] < need
    if not said:
        return said, evidence, None
    # the finding starts where the stretch of flagged rows that runs to the end starts (the
    # median over the last third can flag a run whose very last rows look fine)
    trailing = n if bad.all() else int(np.argmin(bad[::-1]))
    first = int(steps[n - trailing]) if trailing else int(steps[tail][0])
    return said, evidence, first


def mode_collapse(
    steps: np.ndarray,
    s: dict[str, np.ndarray],
    rows: list[dict[str, Any]],
    eval_result: dict[str, Any] | None,
    cmd: Remedies,
    data_name: str,
    images: bool,
    final: bool = True,
) -> Finding | None:
    """Collapse, full or partial, by the logged signals or the latest evaluation."""
    said, evidence, first = _from_signals(steps, s, data_name, final)
    last_step = int(steps[-1]) if len(steps) else 0
    latest = _latest_scores(rows, eval_result)
    if latest is not None:
        more, ev = _from_scores(latest[1])
        more = [m for m in more if m not in said]  # the signals may have said it already
        said += more
        evidence.update(ev)
        if more:
            last_step = max(last_step, latest[0])
            first = latest[0] if first is None else first
    if not said:
        return None
    remedies = [*cmd.undo(), cmd.r1_up(), cmd("model.pack=2")]
    if images:
        remedies.append(cmd("model.d_mbstd=true"))
    remedies.append(cmd(f"train.batch_size={2 * cmd.batch}"))
    series = [k for k in ("diversity", "modes", "classes") if np.isfinite(s[k]).any()]
    return Finding(
        name="mode_collapse",
        severity="warning",
        steps=(int(first or last_step), last_step),
        evidence=evidence,
        summary=f"Mode collapse from step {first}: " + "; ".join(said) + ".",
        remedies=remedies,
        series=series or ["diversity"],
    )
