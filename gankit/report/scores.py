"""The scores section: eval.json's scores, each beside the real-data floor and with the
protocol it was measured under (sample counts, feature space, parameters), because a score
without its protocol cannot be compared with another."""

from __future__ import annotations

import re
from typing import Any

from gankit.headline import headline_or_none
from gankit.report.runinfo import RunInfo
from gankit.report.text import esc, fmt


def _values(fields: Any) -> str:
    """A score's numbers (all fields but the protocol) as one short line each."""
    if not isinstance(fields, dict):
        return esc(fmt(fields))
    items = [(k, v) for k, v in fields.items() if k != "protocol" and not isinstance(v, dict)]
    if len(items) == 1 and items[0][0] == "value":
        return esc(fmt(items[0][1]))
    lines, lists = [], []
    for k, v in items:
        if isinstance(v, list):  # per-mode counts, class shares: evidence, in small print
            lists.append(f'<div class="list">{esc(k)}: {esc(fmt(v))}</div>')
        else:
            number = f"<b>{esc(fmt(v))}</b>"
            lines.append(number if k == "value" else f"{esc(k)} {number}")
    return "<br>".join(lines) + "".join(lists)


def _chips(protocol: dict[str, Any]) -> str:
    chips, subs = [], []
    for k, v in protocol.items():
        if isinstance(v, dict):
            label = f"{k}: {v['name']}" if "name" in v else f"{k} ({len(v)} fields)"
            subs.append(
                f'<details class="sub"><summary>{esc(label)}</summary>{_chips(v)}</details>'
            )
        else:
            chips.append(f'<span class="chip">{esc(k)} <b>{esc(fmt(v))}</b></span>')
    return f'<div class="chips">{"".join(chips)}</div>{"".join(subs)}'


def scores_section(run: RunInfo) -> str:
    where = esc(run.path)
    result = run.eval_result
    if result is None:
        if run.eval_note == "missing":
            return f'<p class="note">Not evaluated yet: <code>gankit eval {where}</code></p>'
        again = f"<code>gankit eval {where}</code> writes it again"
        return f'<p class="note">{esc(run.eval_note)}; {again}.</p>'
    step = result.get("step")
    out = [
        f"<p>Evaluated at step {esc(fmt(step))} with {esc(fmt(result.get('n_samples')))} "
        f"samples, {esc(str(result.get('time', '?')).replace('T', ' '))}. The real-data floor "
        "is the same score of real samples the model never saw: the best a generator can reach."
    ]
    if isinstance(step, int) and step < run.steps_done:
        out.append(
            f" The run has trained to step {run.steps_done:,} since: "
            f"<code>gankit eval {where}</code> scores it again."
        )
    sampler = result.get("sampler") or {}
    if sampler.get("jacobian_keep"):
        out.append(
            f" The samples are G's flattest: of {esc(fmt(sampler.get('draws')))} latent draws, "
            f"the {esc(fmt(sampler.get('kept')))} with the smallest Jacobian norm "
            "(model.jacobian_keep, Jacobian truncation), which drops the samples G strings "
            "between modes; the row <i>every draw</i> scores all of G's draws."
        )
    out.append("</p>")
    if result.get("diverged"):
        out.append('<p class="note">G produced NaN/inf samples: there are no scores.</p>')
    rows = [  # headline() prints an undefined score (null in eval.json) as "nan"
        tuple(re.sub(r"\bnan\b", "—", cell) for cell in row)
        for row in headline_or_none(result) or []
    ]
    if rows:
        body = "".join(
            f'<tr><td>{esc(a)}</td><td class="num">{esc(b)}</td><td class="num">{esc(c)}</td></tr>'
            for a, b, c in rows
        )
        out.append(
            '<div class="table-box"><table class="scores headline"><thead><tr><th>score</th>'
            f"<th>this run</th><th>real-data floor</th></tr></thead><tbody>{body}</tbody>"
            "</table></div>"
        )
    scores, floor = result.get("scores") or {}, result.get("real_floor") or {}
    detail = []
    for name in dict.fromkeys([*scores, *floor]):
        fields = scores.get(name, {})
        protocol = fields.get("protocol") if isinstance(fields, dict) else None
        if protocol is None and isinstance(floor.get(name), dict):
            protocol = floor[name].get("protocol")
        # data-label: a narrow page lays each row out as a card, the labels over the cells
        detail.append(
            f'<tr><td class="name"><b>{esc(name)}</b></td><td class="num" data-label="this run">'
            f"{_values(fields) if fields else '—'}</td>"
            f'<td class="num" data-label="real-data floor">{_values(floor.get(name, {}))}</td>'
            f'<td class="protocol" data-label="protocol">'
            f"{_chips(protocol) if isinstance(protocol, dict) else '—'}</td></tr>"
        )
    if detail:
        out.append(
            '<p class="label">Every score with its protocol</p><div class="table-box">'
            '<table class="scores protocols"><thead><tr><th>score</th><th>this run</th>'
            "<th>real-data floor</th><th>protocol</th>"
            f"</tr></thead><tbody>{''.join(detail)}</tbody></table></div>"
        )
    return "".join(out)
