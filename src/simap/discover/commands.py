"""CLI commands of discovery: ``simap discover`` and ``simap codebook promote`` (thin shells)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from simap.discover.run import DEFAULT_MAX_SCORE

console = Console()

ProjectOpt = Annotated[
    str,
    typer.Option(
        "--project", "-p", envvar="SIMAP_PROJECT", help="Project database: a SQLite file or a database URL."
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("discover")
    def discover_cmd(
        project: ProjectOpt = "simap-project.db",
        out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the themes (JSON).")] = Path(
            "emerging-themes.json"
        ),
        codebook: Annotated[
            str | None, typer.Option("--codebook", "-c", help="Default: the last coded one.")
        ] = None,
        embedder: Annotated[str, typer.Option("--embedder", "-e", help="Embedding backend.")] = "static",
        max_score: Annotated[
            float,
            typer.Option(
                "--max-score", min=0.0, max=1.0, help="Sentences whose best code scores below this."
            ),
        ] = DEFAULT_MAX_SCORE,
        n_themes: Annotated[
            int | None, typer.Option("--themes", "-k", help="Number of clusters (default: auto).")
        ] = None,
        min_ventures: Annotated[
            int, typer.Option("--min-ventures", help="A theme must recur in this many ventures.")
        ] = 3,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (stderr).")] = False,
    ) -> None:
        """Find recurring themes in the sentences the codebook does not explain; propose candidate codes."""
        from simap.discover.run import discover
        from simap.pipeline import Project
        from simap.progress import progress_bar

        with (
            Project.open(project, actor=os.environ.get("SIMAP_USER", "cli")) as proj,
            progress_bar(quiet=quiet) as progress,
        ):
            result = discover(
                proj,
                codebook=codebook,
                embedder=embedder,
                max_score=max_score,
                n_themes=n_themes,
                min_ventures=min_ventures,
                seed=seed,
                progress=progress,
            )
        path = result.save(out)
        table = Table(
            title=f"Emerging themes ({result.n_unexplained} of {result.n_sentences} sentences unexplained)",
            caption=f"candidate codes: promote with `simap codebook promote {out} --theme ID --out new.yaml`",
        )
        for col in ("id", "name", "ventures", "sentences", "terms"):
            table.add_column(col, overflow="fold")
        for theme, cand in zip(result.themes, result.candidates, strict=True):
            table.add_row(
                str(cand["id"]),
                str(cand["name"]),
                str(theme.n_ventures),
                str(theme.size),
                ", ".join(theme.terms[:6]),
            )
        console.print(table)
        console.print(f"[green]Themes written:[/green] {path.resolve()} ({result.seconds:.1f}s)")

    codebook_app = next((g.typer_instance for g in app.registered_groups if g.name == "codebook"), None)
    if codebook_app is None:  # pragma: no cover - the core CLI always has the codebook group
        codebook_app = typer.Typer(help="Codebooks.", no_args_is_help=True)
        app.add_typer(codebook_app, name="codebook")

    @codebook_app.command("promote")
    def promote_cmd(
        themes: Annotated[Path, typer.Argument(help="Themes file written by `simap discover`.")],
        theme: Annotated[
            list[str], typer.Option("--theme", "-t", help="Candidate id (EM1) or theme index; repeat.")
        ],
        out: Annotated[Path, typer.Option("--out", "-o", help="The new codebook YAML.")],
        codebook: Annotated[
            str | None,
            typer.Option("--codebook", "-c", help="Base codebook (default: the one discovery used)."),
        ] = None,
        kind: Annotated[str, typer.Option("--kind", help="Kind of the new codes.")] = "emerging",
        code_id: Annotated[
            list[str] | None, typer.Option("--id", help="New code id, one per --theme.")
        ] = None,
        name: Annotated[
            list[str] | None, typer.Option("--name", help="New code name, one per --theme.")
        ] = None,
        project: Annotated[
            str,
            typer.Option(
                "--project", "-p", envvar="SIMAP_PROJECT", help="Project whose codebook versions to use."
            ),
        ] = "simap-project.db",
    ) -> None:
        """Add candidate codes to a codebook as a new version; re-code with `simap code --codebook OUT`."""
        from simap.discover.candidates import Discovery, promote, write_codebook
        from simap.review.codebook_versions import resolve

        found = Discovery.load(themes)
        if "://" in project or Path(project).exists():  # the exact version discovery used
            from simap.pipeline import Project

            with Project.open(project) as proj:
                base = resolve(proj.store, codebook or f"{found.codebook}@{found.codebook_version}")
        else:
            base = resolve(None, codebook or found.codebook)
        new = promote(base, found, theme, kind=kind, ids=code_id or None, names=name or None)
        path = write_codebook(new, out)
        console.print(
            f"[green]Codebook written:[/green] {path.resolve()} "
            f"({base.name} {base.version} -> {new.version}, "
            f"+{len(new.codes) - len(base.codes)} codes). Re-code: simap code --codebook {path}"
        )
