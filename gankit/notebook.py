"""gankit in Jupyter: a run's card (what ``Run._repr_html_`` shows) and the live training bar.

Both are plain HTML. The bar is one display updated in place (IPython's ``display_id``), not
escape codes or widgets, so it renders in Jupyter, JupyterLab, VS Code and Colab alike, and an
executed notebook keeps its last state: a reader on a code host sees where training ended.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import os
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gankit.run_handle import Run

# The card embeds the training GIF, cut to this many frames and this width (a 12,000-step sine
# run's GIF is 1.8 MB; a notebook of several cards must stay light enough to open and host).
CARD_GIF_FRAMES = 20
CARD_GIF_WIDTH = 360
# Updates of the live bar at most this often: each one is a message to the notebook.
BAR_REFRESH_S = 0.25

_STYLE = (
    "font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; font-size: 13px; "
    "line-height: 1.4; max-width: 100%;"
)


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (a shell with a kernel behind it, as in
    Jupyter, VS Code and Colab), where a bar of escape codes would print as garbage."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _href(path: Path) -> str:
    """A link a notebook opens: relative to the notebook's folder where the run lies under
    it (Jupyter serves those files), else a file:// address."""
    try:
        return Path(os.path.relpath(path.resolve(), Path.cwd())).as_posix()
    except ValueError:  # another drive on Windows
        return path.resolve().as_uri()


def gif_thumbnail(path: Path, width: int, max_frames: int, smooth: bool = True) -> bytes:
    """A lighter copy of a GIF: at most ``max_frames`` frames spread evenly over it (the
    last one kept), scaled down to ``width`` pixels, each frame shown as long as the frames
    it stands for, so the animation keeps its pace. ``smooth``: resample with Lanczos (plots,
    text); without it, nearest pixels, for grids of enlarged pixel images, which Lanczos
    turns into grey noise that a GIF stores at three times the bytes."""
    return _thumbnail(path, path.stat().st_mtime_ns, width, max_frames, smooth)


@functools.lru_cache(maxsize=32)
def _thumbnail(path: Path, _mtime: int, width: int, max_frames: int, smooth: bool) -> bytes:
    from PIL import Image, ImageSequence

    with Image.open(path) as gif:
        n = gif.n_frames
        k = min(n, max_frames)
        keep = sorted({round(i * (n - 1) / max(k - 1, 1)) for i in range(k)})
        duration = gif.info.get("duration", 100) * n / len(keep)
        scale = min(1.0, width / gif.width)
        size = (round(gif.width * scale), round(gif.height * scale))
        resample = Image.Resampling.LANCZOS if smooth else Image.Resampling.NEAREST
        frames = [
            frame.convert("RGB").resize(size, resample)
            for i, frame in enumerate(ImageSequence.Iterator(gif))
            if i in keep
        ]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], loop=0,
                   duration=round(duration), optimize=True)  # fmt: skip
    return out.getvalue()


def show_gif(path: str | Path, width: int = 720, max_frames: int = 30) -> Any:
    """A GIF for a notebook's output, lightened by :func:`gif_thumbnail` (a sweep's GIF of
    three 12,000-step runs is 5.8 MB as written, too heavy to keep in a notebook)."""
    from IPython.display import Image

    return Image(data=gif_thumbnail(Path(path), width, max_frames), format="gif")


def _picture(run: Run) -> str:
    gif = run.path / "training.gif"
    last = run.path / "snapshots" / "last.png"
    if gif.is_file() and gif.stat().st_size > 0:
        smooth = not run.config.data.is_image
        data = gif_thumbnail(gif, CARD_GIF_WIDTH, CARD_GIF_FRAMES, smooth)
        kind, alt = "gif", "training GIF"
    elif last.is_file():
        data, kind, alt = last.read_bytes(), "png", "last snapshot"
    else:
        return "<p><i>no pictures yet</i></p>"
    text = base64.b64encode(data).decode("ascii")
    return (
        f'<img src="data:image/{kind};base64,{text}" alt="{alt}" '
        'style="max-width: 100%; height: auto; border: 1px solid #ddd;">'
    )


def _scores(run: Run) -> str:
    from gankit.headline import headline_or_none

    result = run.scores
    if not result:
        return "<p><i>not scored yet: run.evaluate()</i></p>"
    rows = headline_or_none(result)
    if rows is None or not isinstance(result, dict):
        return "<p><i>eval.json is damaged: run.evaluate() scores the run again</i></p>"
    cell = "padding: 2px 10px; border-bottom: 1px solid #eaeef2;"
    body = "".join(
        f"<tr><td style='{cell} text-align:left'>{_e(a)}</td>"
        f"<td style='{cell} text-align:right'>{_e(b)}</td>"
        f"<td style='{cell} text-align:right; color:#57606a'>{_e(c)}</td></tr>"
        for a, b, c in rows
    )
    head = f"{cell} border-bottom: 1px solid #8c959f;"
    return (
        "<table style='border-collapse: collapse; margin: 4px 0'>"
        f"<thead><tr><th style='{head} text-align:left'>score at step "
        f"{_e(result.get('step', '?'))}</th><th style='{head} text-align:right'>value</th>"
        f"<th style='{head} text-align:right'>real data</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _verdict(run: Run) -> str:
    if not (run.path / "doctor.json").is_file():
        return "<p><b>doctor:</b> <i>not diagnosed yet: run.doctor()</i></p>"
    findings = run.findings
    if not findings:
        return "<p><b>doctor:</b> <span style='color:#1a7f37'>no problem found</span></p>"
    items = []
    for f in findings:
        colour = "#cf222e" if f.severity == "error" else "#9a6700"
        remedy = f"<br>try: <code>{_e(f.remedies[0])}</code>" if f.remedies else ""
        items.append(
            f"<li><b style='color:{colour}'>{_e(f.name)}</b> (steps {f.steps[0]:,}-"
            f"{f.steps[1]:,}): {_e(f.summary)}{remedy}</li>"
        )
    return f"<p style='margin-bottom:0'><b>doctor:</b></p><ul>{''.join(items)}</ul>"


def run_card(run: Run) -> str:
    """The card of a run: name, what it trained, its GIF, its scores beside the real-data
    floor, the doctor's verdict, and links to report.html and the run directory."""
    cfg, meta = run.config, run.meta
    engine = meta.get("engine", cfg.train.engine)
    where = " · ".join(
        str(v) for v in (meta.get("device"), meta.get("precision"), meta.get("started")) if v
    )
    links = [f"<a href='{_e(_href(run.path))}' target='_blank'>run directory</a>"]
    if (run.path / "report.html").is_file():
        links.insert(0, f"<a href='{_e(_href(run.path / 'report.html'))}' target='_blank'>"
                     "report.html</a>")  # fmt: skip
    return (
        f'<div class="gankit-run-card" style="{_STYLE}">'
        f"<div><b style='font-size:15px'>{_e(run.name)}</b> &nbsp; preset <b>{_e(cfg.preset)}</b>"
        f" · engine <b>{_e(engine)}</b> · step <b>{run.step:,}</b> of {cfg.train.steps:,}"
        f" · seed {cfg.seed}</div>"
        f"<div style='color:#57606a'>{_e(where)} · <code>{_e(run.path)}</code></div>"
        "<div style='display:flex; flex-wrap:wrap; gap:16px; align-items:flex-start; "
        f"margin-top:6px'><div>{_picture(run)}</div>"
        f"<div style='min-width:260px; flex:1'>{_scores(run)}{_verdict(run)}"
        f"<p>{' · '.join(links)}</p></div></div></div>"
    )


class NotebookProgress:
    """The training bar as one HTML display updated in place: steps, rate (seconds per step
    when slower than one a second), the latest losses, time left, and the doctor's latest
    word under it."""

    def __init__(self, total: int, done: int) -> None:
        self.total, self.done = total, done
        self.start_step, self.tic = done, time.perf_counter()
        self.rate, self.losses, self.notes = "", "", []
        self.last_draw = 0.0
        self.handle: Any = None

    def __enter__(self) -> NotebookProgress:
        from IPython.display import HTML, display

        self.handle = display(HTML(self._html()), display_id=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.notes.append(f"stopped at step {self.done:,}")
        self._draw(force=True)

    def _eta(self) -> str:
        trained = self.done - self.start_step
        if trained <= 0 or self.done >= self.total:
            return ""
        left = (self.total - self.done) * (time.perf_counter() - self.tic) / trained
        return f"{int(left // 60)}:{int(left % 60):02d} left"

    def _html(self) -> str:
        share = 100 * self.done / max(self.total, 1)
        text = " · ".join(
            t for t in (f"{self.done:,} / {self.total:,}", self.rate, self.losses, self._eta()) if t
        )
        notes = "".join(f"<div style='color:#9a6700'>{_e(n)}</div>" for n in self.notes)
        return (
            f'<div style="{_STYLE}"><b>train</b> '
            "<span style='display:inline-block; width:220px; height:10px; background:#eaeef2; "
            "border-radius:5px; vertical-align:middle; overflow:hidden'>"
            f"<span style='display:block; width:{share:.1f}%; height:100%; "
            f"background:#2f81f7'></span></span> {_e(text)}{notes}</div>"
        )

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if self.handle is None or (not force and now - self.last_draw < BAR_REFRESH_S):
            return
        from IPython.display import HTML

        self.handle.update(HTML(self._html()))
        self.last_draw = now

    def update(self, step: int, rate: str, losses: str) -> None:
        self.done, self.rate, self.losses = step, rate, losses
        self._draw(force=step >= self.total)

    def note(self, text: str) -> None:
        self.notes.append(text)
        self._draw(force=True)
