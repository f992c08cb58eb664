"""``simap diagnose``, ``simap portfolio`` and ``simap advise solutions|questionnaire``: thin shells
over :mod:`simap.advise` (parse, call one library function, format)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from simap.defaults import DEFAULT_MIN_SCORE
from simap.errors import InvalidInput, NotFound

ProjectOpt = Annotated[
    str,
    typer.Option(
        "--project",
        "-p",
        envvar="SIMAP_PROJECT",
        help="Project database: a SQLite file path or a database URL (postgresql+psycopg://...).",
    ),
]
DEFAULT_PROJECT = "simap-project.db"
OutOpt = Annotated[
    list[Path] | None,
    typer.Option("--out", "-o", help="Write the brief; .html, .md or .pdf (repeat for several formats)."),
]
MinScoreOpt = Annotated[
    float,
    typer.Option(
        "--min-score", min=0.0, max=1.0, help="Machine suggestions count from this calibrated score."
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON (the API's shape).")]

console = Console()


def _open(project: str) -> Any:
    from simap.pipeline import Project

    path = Path(project)
    if "://" not in project and not path.exists():
        raise NotFound(
            f"project {project} does not exist.",
            hint="import and code ventures first (`simap import FILE -p DB`, `simap code -p DB`)",
        )
    return Project.open(project, actor=os.environ.get("SIMAP_USER", "cli"))


def _write(model: Any, outs: list[Path] | None) -> None:
    from simap.advise.render import write_brief

    for out in outs or []:
        console.print(f"[green]Wrote[/green] {write_brief(model, out).resolve()}")


def _print_diagnosis(d: Any) -> None:
    console.print(f"[bold]Diagnosis: {d.name}[/bold]  (map of {d.map.n_ventures} ventures)")
    for title, group in (
        ("Barriers", d.barriers),
        ("Principles", d.principles),
        ("Challenges", d.challenges),
    ):
        names = ", ".join(f"{c.code_id} ({c.score:.2f})" for c in group) or "none evidenced"
        console.print(f"  {title}: {names}")
    if d.possible:
        console.print("  Possible: " + ", ".join(f"{c.code_id} ({c.score:.2f})" for c in d.possible))
    for note in d.notes:
        console.print(f"  [yellow]Note:[/yellow] {note}")
    if d.focus_barriers:
        table = Table(title=f"Principles used against {', '.join(d.focus_barriers)}", title_justify="left")
        table.add_column("principle")
        for b in d.focus_barriers:
            table.add_column(f"with {b}", justify="right")
            table.add_column("lift", justify="right")
        table.add_column("")
        for rec in d.recommendations:
            cells = []
            for s in rec.support:
                cells += [f"{s.n_both}/{s.n_barrier}", "–" if s.lift is None else f"{s.lift:.1f}"]
            flag = (
                "recommended"
                if rec.recommended
                else "to explore"
                if rec.to_explore
                else ("you use it" if rec.already_used else "")
            )
            table.add_row(f"{rec.code_id} {rec.name}", *cells, flag)
        console.print(table)
    if d.peers:
        console.print("[bold]Peers[/bold] (same barrier, other context):")
        for p in d.peers:
            quote = p.principle_evidence.text if p.principle_evidence else ""
            console.print(f"  {p.name} [{p.venture_id}]: {p.barrier} + {p.principle}; {p.contrast}")
            if quote:
                console.print(f"    “{quote[:160]}”")
    if d.solutions:
        console.print("[bold]Solutions:[/bold]")
        for s in d.solutions:
            console.print(f"  {s.code_id}: {s.title} ({s.cost} cost)")


def _print_portfolio(r: Any) -> None:
    console.print(f"[bold]Portfolio of {r.n_portfolio} ventures[/bold] against {r.n_landscape}")
    table = Table(title="Coverage", title_justify="left")
    for col in ("code", "name", "portfolio", "landscape", "ratio"):
        table.add_column(col, justify="right" if col in ("portfolio", "landscape", "ratio") else "left")
    for c in r.coverage:
        table.add_row(
            c.code_id,
            c.name,
            f"{c.n_portfolio} ({c.share_portfolio:.0%})",
            f"{c.n_landscape} ({c.share_landscape:.0%})",
            "–" if c.ratio is None else f"{c.ratio:.1f}",
        )
    console.print(table)
    console.print("[bold]White space[/bold] (barrier: answered with a working principle in the landscape):")
    for w in r.white_space:
        console.print(
            f"  {w.barrier} {w.name}: {w.n_landscape} ventures, {w.share_answered_landscape:.0%} use "
            f"{', '.join(w.working_principles) or '–'}; portfolio {w.n_answered_portfolio} of {w.n_portfolio}"
        )
    if r.countries:
        console.print("Countries not reached: " + ", ".join(g.value for g in r.countries))
    if r.sectors:
        console.print("Sectors not reached: " + ", ".join(g.value for g in r.sectors))
    for note in r.notes:
        console.print(f"[yellow]Note:[/yellow] {note}")


def register(app: typer.Typer) -> None:
    advise_app = typer.Typer(
        help="Advice material: consulting solutions, intake questionnaire.", no_args_is_help=True
    )
    app.add_typer(advise_app, name="advise")

    @advise_app.command("solutions")
    def solutions_cmd(
        code: Annotated[str | None, typer.Option("--code", "-c", help="Only this code, e.g. B2.")] = None,
        codebook: Annotated[str, typer.Option(help="Built-in name or YAML file.")] = "social-innovation",
        as_json: JsonOpt = False,
    ) -> None:
        """List the consulting solutions of the codebook's barriers, challenges and principles."""
        import json

        from simap import codebook as cb
        from simap.advise.solutions import solutions

        items = solutions(cb.load(codebook), [code] if code else None)
        if as_json:
            typer.echo(json.dumps([s.model_dump() for s in items], indent=2, ensure_ascii=False))
            return
        if code:
            for s in items:
                console.print(f"[bold]{s.code_id} · {s.title}[/bold] ({s.cost} cost)")
                console.print(f"  {s.description}")
                if s.why:
                    console.print(f"  [i]Why:[/i] {s.why}")
                if s.prerequisites:
                    console.print(f"  [i]Needs:[/i] {'; '.join(s.prerequisites)}")
                if s.example_ventures:
                    console.print(f"  [i]Examples:[/i] {', '.join(s.example_ventures)}")
            return
        table = Table(show_lines=False)
        for col in ("code", "solution", "cost", "examples"):
            table.add_column(col)
        for s in items:
            table.add_row(s.code_id, s.title, s.cost, ", ".join(s.example_ventures[:3]))
        console.print(table)

    @advise_app.command("questionnaire")
    def questionnaire_cmd(
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Write a blank answers file (YAML) here.")
        ] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Print the intake questionnaire, or write a blank answers template to fill in."""
        from simap.advise.questionnaire import answers_template, questionnaire

        if as_json:
            typer.echo(questionnaire().model_dump_json(indent=2, by_alias=True))
            return
        text = answers_template()
        if out is None:
            typer.echo(text, nl=False)
            return
        if out.exists():
            raise InvalidInput(f"{out} already exists.", field="out", hint="choose another file or delete it")
        out.write_text(text, encoding="utf-8")
        console.print(
            f"[green]Wrote[/green] {out.resolve()}: fill it in, then `simap diagnose --answers {out}`"
        )

    @app.command("diagnose")
    def diagnose_cmd(
        project: ProjectOpt = DEFAULT_PROJECT,
        text: Annotated[str | None, typer.Option("--text", "-t", help="The venture's description.")] = None,
        text_file: Annotated[
            Path | None, typer.Option("--text-file", help="A file holding the description (UTF-8 text).")
        ] = None,
        answers: Annotated[
            Path | None, typer.Option("--answers", "-a", help="Questionnaire answers (YAML or JSON).")
        ] = None,
        venture: Annotated[
            str | None, typer.Option("--venture", help="Diagnose a venture of the map by its id.")
        ] = None,
        name: Annotated[str | None, typer.Option("--name", help="The venture's name for the brief.")] = None,
        country: Annotated[
            list[str] | None, typer.Option("--country", help="Country the venture works in (repeatable).")
        ] = None,
        sector: Annotated[
            list[str] | None, typer.Option("--sector", help="Sector the venture works in (repeatable).")
        ] = None,
        out: OutOpt = None,
        min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
        text_min_score: Annotated[
            float | None,
            typer.Option(
                "--text-min-score",
                min=0.0,
                max=1.0,
                help="A code of your own text counts from this score (default: per embedder, "
                "chosen on the diagnose bench).",
            ),
        ] = None,
        max_text_codes: Annotated[
            int | None,
            typer.Option(
                "--max-text-codes", min=0, help="Claim at most this many codes of your text (0: no cap)."
            ),
        ] = None,
        embedder: Annotated[
            str | None,
            typer.Option("--embedder", "-e", help="Code the text with this backend (default: the map's)."),
        ] = None,
        codebook: Annotated[
            str | None,
            typer.Option(
                "--codebook", "-c", help="Codebook or project version NAME@VERSION; default: the last coded."
            ),
        ] = None,
        as_json: JsonOpt = False,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (stderr).")] = False,
    ) -> None:
        """Diagnose a venture: its barriers, principles and challenges with evidence, the principles peers
        use against the same barriers, peers in other contexts, and consulting solutions."""
        from simap.advise.diagnose import diagnose
        from simap.advise.questionnaire import load_answers

        if text is not None and text_file is not None:
            raise InvalidInput("give --text or --text-file, not both.", field="text")
        if text_file is not None:
            if not text_file.exists():
                raise NotFound(f"text file {text_file} does not exist.")
            text = text_file.read_text(encoding="utf-8")
        answer_data = load_answers(answers) if answers is not None else None
        from simap.progress import progress_bar

        with _open(project) as proj, progress_bar(quiet=quiet) as progress:
            result = diagnose(
                proj,
                text,
                answer_data,
                name=name,
                countries=country or None,
                sectors=sector or None,
                venture_id=venture,
                min_score=min_score,
                embedder=embedder,
                text_min_score=text_min_score,
                max_text_codes=max_text_codes,
                codebook=codebook,
                progress=progress,
            )
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            _print_diagnosis(result)
        _write(result, out)

    @app.command("portfolio")
    def portfolio_cmd(
        project: ProjectOpt = DEFAULT_PROJECT,
        ventures: Annotated[
            Path | None, typer.Option("--ventures", help="File of venture ids, one per line.")
        ] = None,
        ids: Annotated[str | None, typer.Option("--ids", help="Comma-separated venture ids.")] = None,
        out: OutOpt = None,
        min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
        as_json: JsonOpt = False,
    ) -> None:
        """A funder's portfolio against the landscape: coverage, white space, under-served countries and
        sectors, ecosystem challenges as funding opportunities (opportunity report)."""
        from simap.advise.portfolio import portfolio, read_ids

        if (ventures is None) == (ids is None):
            raise InvalidInput("give exactly one of --ventures FILE or --ids a,b,c.", field="ventures")
        wanted = (
            read_ids(ventures) if ventures is not None else [i for i in (ids or "").split(",") if i.strip()]
        )
        with _open(project) as proj:
            result = portfolio(proj, wanted, min_score=min_score)
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            _print_portfolio(result)
        _write(result, out)
