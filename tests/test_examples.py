"""The example notebooks, executed top to bottom by a real Jupyter kernel (nbclient +
ipykernel), shortened through a cell inserted after the one tagged "parameters". A cell that
raises fails the test, and so does a cell whose committed outputs held a figure, a GIF or a
run card that it no longer produces."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))

POINTS = {
    "train.log_every": 10, "train.snapshot_every": 20, "eval.n_samples": 300,
    "eval.w1_points": 300, "viz.points": 200, "viz.grid": 24,
}  # fmt: skip
# what each notebook's runs are cut to: seconds each, yet long enough for what the notebook
# shows (the problems of 04 still appear, so the doctor still names them)
SHORTEN = {
    "01-sine": {**POINTS, "train.steps": 60},
    "02-breakout": {"train.steps": 30, "train.log_every": 10, "train.snapshot_every": 10,
                    "data.n": 600, "data.holdout": 300, "eval.n_samples": 300},
    "03-three-engines": {"train.steps": 30, "train.log_every": 10, "train.snapshot_every": 10,
                         "eval.n_samples": 300, "model.g_hidden": [64, 64],
                         "model.d_hidden": [64]},
    "04-common-problems": {**POINTS, "train.steps": 600, "train.snapshot_every": 200},
    "05-your-images": {"train.steps": 20, "train.log_every": 10, "train.snapshot_every": 10,
                       "train.checkpoint_every": 20, "eval.n_samples": 200},
}  # fmt: skip
# output kinds a reader looks for: figures, GIFs, run cards (a card's HTML names its engine)
SHOWN = ("image/png", "image/gif", "text/html")


def _shown(cell: nbformat.NotebookNode) -> set[str]:
    kinds = set()
    for out in cell.get("outputs", []):
        for kind in SHOWN:
            if kind in out.get("data", {}):
                kinds.add(kind)
    return kinds


def _cards(cell: nbformat.NotebookNode) -> int:
    """How many run cards (Run._repr_html_) the cell shows."""
    html = [o.get("data", {}).get("text/html", "") for o in cell.get("outputs", [])]
    return sum("".join(h).count("gankit-run-card") for h in html)


def test_every_seed_notebook_is_here():
    assert [p.stem for p in NOTEBOOKS] == list(SHORTEN)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom_in_a_kernel(path, tmp_path):
    committed = nbformat.read(path, as_version=4)
    nb = nbformat.read(path, as_version=4)
    params = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "one cell tagged parameters"
    shorten = nbformat.v4.new_code_cell(f"SHORTEN = {SHORTEN[path.stem]!r}")
    shorten.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(params[0] + 1, shorten)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    ran = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    for before, after in zip(committed.cells, ran, strict=True):
        if before.cell_type != "code":
            continue
        missing = _shown(before) - _shown(after)
        assert not missing, f"cell no longer shows {missing}:\n{before.source}"
        assert _cards(before) <= _cards(after), (
            f"cell no longer shows its run card:\n{before.source}"
        )
        for out in after.get("outputs", []):
            assert "\x1b[" not in "".join(out.get("text", "")), (
                f"escape codes from:\n{before.source}"
            )
    assert list(tmp_path.glob("runs/*/report.html")), "the notebook's runs were finished"
