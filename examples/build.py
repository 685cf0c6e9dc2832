"""Write the example notebooks from their cells below, and run them full length with a real
Jupyter kernel so they are committed with their outputs.

    .venv/bin/python examples/build.py                 # write all five, run them full length
    .venv/bin/python examples/build.py 01 04           # only these
    .venv/bin/python examples/build.py --no-execute    # write the cells, keep no outputs
    .venv/bin/python examples/build.py --refresh-cards 02   # redraw the run cards from the
                                                   # runs in examples/runs, keep the rest

The notebooks run in examples/ and leave their runs in examples/runs/ (not committed). The
test suite (tests/test_examples.py) runs the committed notebooks again, shortened through the
cell after the one tagged "parameters", and checks every figure and run card still appears.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from cells import NOTEBOOKS  # noqa: E402  (the cells live beside this script)

TIMEOUT_S = 3600  # one cell: a full Breakout run on a CPU takes about 8 minutes


def notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """Cells as (kind, source): "md", "code" or "parameters" (code tagged for the tests)."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        source = source.strip("\n")
        if kind == "md":
            nb.cells.append(new_markdown_cell(source))
        else:
            cell = new_code_cell(source)
            if kind == "parameters":
                cell.metadata["tags"] = ["parameters"]
            nb.cells.append(cell)
    return nb


def refresh_cards(path: Path) -> None:
    """Redraw the run cards a notebook shows with today's card code, from the same runs
    (still in examples/runs), leaving every other output as it ran."""
    import html
    import os
    import re

    import gankit

    nb = nbformat.read(path, as_version=4)
    os.chdir(HERE)  # the cards' links are relative to the notebook's folder
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            card = out.get("data", {}).get("text/html", "")
            found = re.search(r"<code>([^<]+)</code>", card) if "gankit-run-card" in card else None
            if found:
                out["data"]["text/html"] = gankit.load(html.unescape(found[1]))._repr_html_()
    nbformat.write(nb, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", help="notebook number prefixes, e.g. 01 04")
    parser.add_argument("--no-execute", action="store_true")
    parser.add_argument("--refresh-cards", action="store_true")
    args = parser.parse_args()
    if args.refresh_cards:
        for name in NOTEBOOKS:
            if not args.only or any(name.startswith(p) for p in args.only):
                refresh_cards(HERE / f"{name}.ipynb")
                print(f"redrew the cards of {name}.ipynb", flush=True)
        return
    for name, cells in NOTEBOOKS.items():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        nb = notebook(cells)
        path = HERE / f"{name}.ipynb"
        if not args.no_execute:
            tic = time.perf_counter()
            NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3",
                           resources={"metadata": {"path": str(HERE)}}).execute()  # fmt: skip
            print(f"{name}: ran in {time.perf_counter() - tic:.0f} s", flush=True)
        nbformat.write(nb, path)
        print(f"wrote {path.relative_to(HERE.parent)}", flush=True)


if __name__ == "__main__":
    main()
