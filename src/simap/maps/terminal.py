"""Print a landscape map in the terminal with ``rich``."""

from __future__ import annotations

import math

from rich.console import Console
from rich.table import Table
from rich.text import Text

from simap.maps.analytics import LandscapeMap

BAR_WIDTH = 20


def share_bar(share: float, width: int = BAR_WIDTH) -> str:
    """A bar of block characters, ``share`` in [0, 1] of ``width`` cells (eighths resolution)."""
    share = 0.0 if math.isnan(share) else min(max(share, 0.0), 1.0)
    eighths = round(share * width * 8)
    full, rest = divmod(eighths, 8)
    partial = " ▏▎▍▌▋▊▉"[rest] if rest else ""
    return ("█" * full + partial).ljust(width)


def prevalence_table(landscape: LandscapeMap) -> Table:
    table = Table(
        title=f"Prevalence of codes ({landscape.n_ventures} ventures)",
        caption="share of ventures with the code; 95% Wilson interval",
    )
    table.add_column("code", no_wrap=True, min_width=4)
    table.add_column("name", no_wrap=True, overflow="ellipsis", max_width=30)
    table.add_column("n", justify="right", no_wrap=True, min_width=3)
    table.add_column("share", justify="right", no_wrap=True, min_width=6)
    table.add_column("95% CI", justify="right", no_wrap=True, min_width=11)
    table.add_column("", no_wrap=True, max_width=16)
    kind = None
    for rec in landscape.prevalence.itertuples(index=False):
        if rec.kind != kind:
            kind = rec.kind
            table.add_row("", Text(str(kind).replace("_", " ") + "s", style="dim italic"))
        table.add_row(
            Text(str(rec.code_id), style="bold"),
            Text(str(rec.name)),
            str(rec.n),
            f"{rec.share:.1%}",
            f"{rec.ci_low:.0%}–{rec.ci_high:.0%}",
            Text(share_bar(float(rec.share), width=14), style="cyan"),
        )
    return table


def cooccurrence_grid(landscape: LandscapeMap) -> Table | None:
    cooc = landscape.cooccurrence
    if cooc.empty:
        return None
    rows = list(dict.fromkeys(cooc["row"]))
    cols = list(dict.fromkeys(cooc["col"]))
    table = Table(
        title=f"Co-occurrence: {landscape.rows_kind} x {landscape.cols_kind}",
        caption="ventures with both codes (lift); bold: Fisher exact p < 0.05 (one-sided)",
    )
    table.add_column("")
    for c in cols:
        table.add_column(c, justify="right")
    cells = {(r.row, r.col): r for r in cooc.itertuples(index=False)}
    for r in rows:
        line: list[Text] = [Text(str(r), style="bold")]
        for c in cols:
            rec = cells[(r, c)]
            lift = "–" if math.isnan(rec.lift) else f"{rec.lift:.1f}"
            style = "bold green" if rec.p_value < 0.05 and rec.n_both > 0 else ""
            line.append(Text(f"{rec.n_both} ({lift})", style=style))
        table.add_row(*line)
    return table


def render_map(landscape: LandscapeMap, console: Console) -> None:
    """Print the prevalence table (with bars) and the co-occurrence table to ``console``."""
    console.print(
        Text(
            f"{landscape.n_ventures} ventures, {landscape.n_coded} ({landscape.share_coded:.0%}) with at "
            f"least one code; codebook {landscape.codebook_name} {landscape.codebook_version}; "
            f"min score {landscape.min_score:g}, suggestions "
            f"{'counted' if landscape.include_suggestions else 'not counted'}"
        )
    )
    from simap.maps.geo import country_coverage

    cov = country_coverage(landscape.countries)
    if cov["without_country"]:
        console.print(
            Text(
                f"{cov['without_country']} of {cov['ventures']} ventures ({cov['share_without']:.0%}) "
                f"name no country; {cov['multi_country']} name several (counted in each)."
            )
        )
    console.print(prevalence_table(landscape))
    grid = cooccurrence_grid(landscape)
    if grid is None:
        lacking = f"{landscape.rows_kind} or {landscape.cols_kind}"
        console.print(Text(f"No co-occurrence table: the codebook lacks {lacking}."))
    else:
        console.print(grid)
