"""``report.html``: one self-contained page per run, from which a person can judge the run.

The page reads only the run directory (config.json, metrics.jsonl, events.jsonl, eval.json,
snapshots/, training.gif) and the doctor's findings, so it works for any engine, for point
and image runs, and for runs that are unfinished or not evaluated yet. Everything it shows
is inside the one file: pictures are base64 PNG/GIF data URIs, CSS and JS are inline, and
no URL points outside the file, so the page can be mailed, archived or opened offline.

    runinfo.py   what the run directory holds, read once and tolerant of missing parts
    plots.py     matplotlib (Agg) curves: training curves, each finding's series
    pictures.py  the GIF, real beside generated, the snapshot frames of the slider
    scores.py    eval.json's scores with their protocols and the real-data floor
    page.py      the other HTML sections and the page; assets.py its CSS and JS
    encode.py    palette PNGs and data URIs; text.py escaping and number formats
"""

from gankit.report.page import write_report

__all__ = ["write_report"]
