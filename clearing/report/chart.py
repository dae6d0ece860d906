"""Breaks by type and age bucket as a stacked bar chart (PNG, Agg backend) and a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot loads: no display on servers
import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

from clearing.recon.breaks import AGE_BUCKET_NAMES, BreakType
from clearing.recon.run import RunResult
from clearing.report.export import breaks_frame, statement_csv

AGE_COLOURS = {"0-1": "#9ecae1", "2-7": "#4292c6", "8-30": "#fd8d3c", ">30": "#d94801"}
MAX_HTML_BREAKS = 500


def breaks_chart_png(result: RunResult) -> bytes:
    """Stacked bars: one bar per break type, one segment per age bucket."""
    by_age = result.statement.breaks_by_age
    types = [t.value for t in BreakType]
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    try:
        bottom = [0] * len(types)
        for bucket in AGE_BUCKET_NAMES:
            heights = [by_age[bucket][t] for t in types]
            ax.bar(types, heights, bottom=bottom, label=f"{bucket} days", color=AGE_COLOURS[bucket])
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_ylabel("breaks")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts are whole breaks
        ax.set_title(f"{result.statement.bank} breaks as of {result.statement.as_of} by type and age")
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
        ax.legend(title="age", loc="upper left", bbox_to_anchor=(1.01, 1.0))
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def _table(rows: list[list[object]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def html_report(result: RunResult, png: bytes) -> str:
    """One HTML page: verdict, statement per kind, the chart (embedded), breaks (first 500) and rejects."""
    s = result.statement
    statement_rows = [line.split(",") for line in statement_csv(result).strip().splitlines()]
    breaks = breaks_frame(result)
    shown = breaks.head(MAX_HTML_BREAKS)
    rejects = [[r.line, r.code.value, r.reason, r.key, r.carried] for r in result.rejects[:MAX_HTML_BREAKS]]
    image = base64.b64encode(png).decode()
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Reconciliation {html.escape(s.bank)} {s.as_of}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head><body>
<h1>{html.escape(s.bank)}: {html.escape(s.verdict.value)}</h1>
<p>As of {s.as_of}; run {html.escape(s.run_id)}; books {html.escape(s.books_source)};
index block {s.index_block}. {html.escape("; ".join(s.verdict_reasons))}. Amounts in fen.</p>
<h2>Statement</h2>{_table(statement_rows[1:], statement_rows[0])}
<h2>Breaks by type and age</h2><img alt="breaks by type and age" src="data:image/png;base64,{image}">
<h2>Breaks ({shown.height} of {breaks.height})</h2>{_table([list(r) for r in shown.iter_rows()], shown.columns)}
<h2>Rejected books rows ({len(result.rejects)})</h2>
{_table(rejects, ["line", "code", "reason", "key", "carried"])}
</body></html>
"""


def write_chart_and_html(result: RunResult, out_dir: str | Path) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    png = breaks_chart_png(result)
    paths = {"png": out / "breaks.png", "html": out / "report.html"}
    paths["png"].write_bytes(png)
    paths["html"].write_text(html_report(result, png))
    return paths
