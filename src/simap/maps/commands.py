"""CLI commands of the map stage: ``simap report`` and ``simap export views`` (thin shells)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from simap.defaults import DEFAULT_MIN_SCORE

console = Console()

ProjectOpt = Annotated[
    str,
    typer.Option(
        "--project", "-p", envvar="SIMAP_PROJECT", help="Project database: a SQLite file or a database URL."
    ),
]
MinScoreOpt = Annotated[
    float,
    typer.Option(
        "--min-score", min=0.0, max=1.0, help="Machine suggestions count from this calibrated score."
    ),
]
AcceptedOnlyOpt = Annotated[bool, typer.Option("--accepted-only", help="Count only codes a human accepted.")]
CodebookOpt = Annotated[str | None, typer.Option("--codebook", "-c", help="Default: the last coded one.")]


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _data(
    project: str,
    codebook: str | None,
    min_score: float,
    accepted_only: bool,
    themes: Path | None,
    discover: bool,
    gold: Path | None,
    text_embedder: str,
    seed: int,
    progress: Any = None,
) -> Any:
    from simap.discover.candidates import Discovery
    from simap.pipeline import Project
    from simap.report.sections import collect_report_data

    extra = {"progress": progress} if progress is not None else {}
    with Project.open(project, actor=os.environ.get("SIMAP_USER", "cli")) as proj:
        discovery = Discovery.load(themes) if themes else None
        if discover and discovery is None:
            from simap.discover.run import discover as run_discovery

            discovery = run_discovery(proj, codebook=codebook, seed=seed, **extra)
        return collect_report_data(
            proj,
            codebook=codebook,
            min_score=min_score,
            include_suggestions=not accepted_only,
            text_embedder=None if text_embedder == "none" else text_embedder,
            discovery=discovery,
            gold=str(gold) if gold else None,
            seed=seed,
            **extra,
        )


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_cmd(
        project: ProjectOpt = "simap-project.db",
        out: Annotated[Path, typer.Option("--out", "-o", help="HTML file; the PDF goes next to it.")] = Path(
            "social-innovation-map.html"
        ),
        pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write the PDF (WeasyPrint).")] = True,
        min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
        accepted_only: AcceptedOnlyOpt = False,
        codebook: CodebookOpt = None,
        themes: Annotated[
            Path | None, typer.Option("--themes", help="Emerging themes from `simap discover --out`.")
        ] = None,
        discover: Annotated[bool, typer.Option("--discover", help="Run discovery for the report.")] = False,
        gold: Annotated[
            Path | None, typer.Option("--gold", help="Gold labels for the agreement figures.")
        ] = None,
        exports: Annotated[
            Path | None, typer.Option("--exports", help="Also write every table, chart and graph here.")
        ] = None,
        text_embedder: Annotated[
            str,
            typer.Option("--text-embedder", help="Venture text similarity: tfidf, static, minilm or none."),
        ] = "tfidf",
        title: Annotated[str, typer.Option("--title")] = "Social Innovation Map",
        seed: Annotated[int, typer.Option("--seed", help="Seed of layouts, communities, discovery.")] = 0,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (stderr).")] = False,
    ) -> None:
        """Write the Social Innovation Map: a self-contained interactive HTML report and a PDF."""
        from simap.progress import progress_bar
        from simap.report.html import write_html_report
        from simap.report.pdf import write_pdf_report

        t0 = time.perf_counter()
        with progress_bar(quiet=quiet) as progress:
            data = _data(
                project,
                codebook,
                min_score,
                accepted_only,
                themes,
                discover,
                gold,
                text_embedder,
                seed,
                progress=progress,
            )
            steps = 2 if pdf else 1
            progress("write", 0, steps)
            html = write_html_report(
                data.landscape, data.codebook, out, title=title, meta=data.meta, data=data
            )
            progress("write", 1, steps)
            t_html = time.perf_counter() - t0
            path = None
            if pdf:
                t1 = time.perf_counter()
                path = write_pdf_report(
                    data.landscape,
                    data.codebook,
                    out.with_suffix(".pdf"),
                    title=title,
                    meta=data.meta,
                    data=data,
                )
                t_pdf = time.perf_counter() - t1
                progress("write", 2, steps)
        console.print(f"[green]HTML report:[/green] {html.resolve()} ({t_html:.1f}s)")
        if path is not None:
            console.print(f"[green]PDF report:[/green] {path.resolve()} ({t_pdf:.1f}s)")
        if exports:
            from simap.report.views import export_views

            files = export_views(data, exports)
            console.print(f"[green]Exported[/green] {len(files)} files to {exports.resolve()}")

    export_app = next((g.typer_instance for g in app.registered_groups if g.name == "export"), None)
    if export_app is None:  # pragma: no cover - the core CLI always has the export group
        export_app = typer.Typer(help="Export project data.", no_args_is_help=True)
        app.add_typer(export_app, name="export")

    @export_app.command("views")
    def export_views_cmd(
        out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into.")],
        project: ProjectOpt = "simap-project.db",
        tables: Annotated[
            str, typer.Option("--tables", help="csv,xlsx,json (comma-separated) or ''.")
        ] = "csv,xlsx,json",
        charts: Annotated[str, typer.Option("--charts", help="svg,png or ''.")] = "svg",
        graphs: Annotated[str, typer.Option("--graphs", help="graphml,gexf or ''.")] = "graphml,gexf",
        min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
        accepted_only: AcceptedOnlyOpt = False,
        codebook: CodebookOpt = None,
        themes: Annotated[Path | None, typer.Option("--themes", help="Discovery file to include.")] = None,
        text_embedder: Annotated[str, typer.Option("--text-embedder")] = "tfidf",
        seed: Annotated[int, typer.Option("--seed")] = 0,
    ) -> None:
        """Every view of the map as tables (CSV/XLSX/JSON), charts (SVG/PNG) and graphs (GraphML/GEXF)."""
        from simap.report.views import export_views

        data = _data(project, codebook, min_score, accepted_only, themes, False, None, text_embedder, seed)
        files = export_views(
            data, out, tables=_split(tables), charts_as=_split(charts), graphs=_split(graphs)
        )
        console.print(f"[green]Exported[/green] {len(files)} files to {out.resolve()}")
