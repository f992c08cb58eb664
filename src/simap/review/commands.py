"""CLI commands of the review and learning loop: import-codes, train, review next, review."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from simap.defaults import DEFAULT_EMBEDDER

console = Console()
ProjectOpt = Annotated[str, typer.Option("--project", "-p", envvar="SIMAP_PROJECT", help="Project database.")]
DEFAULT_PROJECT_FILE = "simap-project.db"


def _project(path: str, actor: str | None = None) -> Any:
    from simap.pipeline import Project

    return Project.open(path, actor=actor or os.environ.get("SIMAP_USER", "cli"))


def import_codes_cmd(
    path: Annotated[
        Path, typer.Argument(help='JSONL {"id","codes","evidence"} or CSV venture,code[,evidence]')
    ],
    coder: Annotated[str, typer.Option("--coder", help="Name of the human coder.")],
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    codebook: Annotated[str, typer.Option("--codebook", "-c", help="Codebook the codes belong to.")] = (
        "social-innovation"
    ),
    partial: Annotated[
        bool, typer.Option("--partial", help="Do not record unlisted codes as rejected.")
    ] = False,
    skip_missing: Annotated[
        bool, typer.Option("--skip-missing", help="Ignore ids not in the project.")
    ] = False,
) -> None:
    """Load existing human coding as a named coder (unlisted codes count as rejected)."""
    with _project(project, coder) as proj:
        stats = proj.import_codes(
            path, coder=coder, codebook=codebook, partial=partial, skip_missing=skip_missing
        )
    console.print(
        f"[green]Imported[/green] {coder}'s codes for {stats.ventures} ventures: {stats.accepted} "
        f"accepted, {stats.rejected} rejected; {stats.evidence_located} evidence quotes located."
    )
    if stats.evidence_not_found:
        console.print(
            f"[yellow]{len(stats.evidence_not_found)} quotes not found in the texts[/yellow] "
            f"(kept as text), e.g. {stats.evidence_not_found[0]}"
        )


CodebookOpt = Annotated[
    str | None,
    typer.Option("--codebook", "-c", help="Codebook to learn (default: the last one coded)."),
]
LevelOpt = Annotated[
    Literal["auto", "sentence", "venture"],
    typer.Option(
        "--level",
        help="auto (venture for single-label codebooks, else sentence), sentence or venture "
        "(tags declared per venture, such as SDGs).",
    ),
]
ContextFieldOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--context-field",
        help="Venture-level models: also read this metadata field (e.g. organizations). Repeatable.",
    ),
]
AtLeastOneOpt = Annotated[
    bool,
    typer.Option("--at-least-one", help="Multi-label venture-level models: each venture gets its best code."),
]


def coder_params(level: str, context_fields: list[str] | None, at_least_one: bool) -> dict[str, Any] | None:
    """Learning-coder parameters from the CLI options (None: the defaults)."""
    params: dict[str, Any] = {} if level == "auto" else {"level": level}
    if context_fields:
        params["context_fields"] = tuple(context_fields)
    if at_least_one:
        params["at_least_one"] = True
    return params or None


def train_cmd(
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    embedder: Annotated[str, typer.Option("--embedder", "-e")] = DEFAULT_EMBEDDER,
    coder: Annotated[list[str] | None, typer.Option("--coder", help="Learn only from these coders.")] = None,
    recode: Annotated[bool, typer.Option("--recode/--no-recode", help="Re-code the project with it.")] = True,
    finetune: Annotated[
        bool,
        typer.Option(
            "--finetune",
            help="First fine-tune MiniLM on the labelled texts (CPU, ~2 min per 500 ventures); "
            "its per-code heads take a quarter of the blend's score.",
        ),
    ] = False,
    codebook: CodebookOpt = None,
    level: LevelOpt = "auto",
    context_field: ContextFieldOpt = None,
    at_least_one: AtLeastOneOpt = False,
    calibrate: Annotated[
        bool,
        typer.Option(
            "--calibrate",
            help="Report calibrated probabilities (Platt scaling on out-of-fold scores) instead of "
            "decision scores (0.5 = the cut chosen by cross-validation).",
        ),
    ] = False,
) -> None:
    """Train the learning coder on the human decisions; save it with its CV scores; re-code."""
    params = coder_params(level, context_field, at_least_one)
    if calibrate:
        params = (params or {}) | {"calibrate": True}
    from simap.progress import progress_bar

    with _project(project) as proj:
        with progress_bar() as progress:
            result = proj.train(
                codebook=codebook,
                embedder=embedder,
                coders=coder,
                finetune=finetune,
                params=params,
                progress=progress,
            )
        tuned = f" (fine-tuning MiniLM: {result.finetune_seconds:.1f}s)" if finetune else ""
        console.print(
            f"[green]Trained[/green] {result.coder} on {result.labels} ventures ({result.positives} "
            f"accepted codes) in {result.seconds:.1f}s{tuned}; saved {result.path}"
        )
        if result.cv:
            brier = f", Brier {result.cv['brier']}" if "brier" in result.cv else ""
            console.print(
                f"cross-validated pooled F1 {result.cv.get('pooled_f1')}{brier} ({result.cv.get('note')})"
            )
        if recode:
            code = proj.code(coder="supervised", codebook=result.codebook)
            console.print(f"Re-coded {code.ventures} ventures with {code.coder} (run {code.run_id}).")


def next_cmd(
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    n: Annotated[int, typer.Option("--n", min=1, help="How many ventures.")] = 20,
    reviewer: Annotated[str | None, typer.Option("--reviewer", help="Leave out what this coder did.")] = None,
) -> None:
    """The ventures whose review teaches the model most (uncertainty, diversity, disagreement)."""
    from simap.review.queue import review_queue

    with _project(project) as proj:
        queue = review_queue(proj.store, proj.current_codebook(), n=n, reviewer=reviewer)
    table = Table("venture", "priority", "why")
    for r in queue.to_dict("records"):
        table.add_row(r["venture_id"], f"{r['priority']:.2f}", r["reason"])
    console.print(table)


def highlight(text: str, spans: list[tuple[int, int, str]]) -> Text:
    out = Text(text)
    for start, end, code in spans:
        out.stylize("bold black on yellow", start, end)
        out.append_text(Text(""))
        del code
    return out


def _latest_machine_coder(store: Any) -> str | None:
    """The machine coder of the newest finished coding run (the trained one after `simap train`)."""
    from sqlalchemy import select

    from simap.store.schema import Run

    with store.engine.connect() as conn:
        return conn.execute(  # type: ignore[no-any-return]
            select(Run.model).where(Run.kind == "code", Run.status == "done").order_by(Run.id.desc()).limit(1)
        ).scalar_one_or_none()


def one_suggestion_per_code(sugg: Any, latest: str | None) -> Any:
    """One machine suggestion per code: the newest coder's when it has one, else the best score
    (after `simap train` the zero-shot and the trained coder both suggest every code)."""
    if sugg.empty:
        return sugg
    ranked = sugg.assign(_latest=(sugg["coder"] == latest).astype(int))
    ranked = ranked.sort_values(["_latest", "score"], ascending=False)
    return ranked.drop_duplicates("code_id").drop(columns="_latest").sort_values("score", ascending=False)


PROMPT = "  \\[a]ccept / \\[r]eject / \\[s]kip / \\[q]uit > "  # \\[ keeps rich from eating [a] as markup
ADD_PROMPT = "  add codes (space-separated ids, Enter for none, q to quit) > "


def review_cmd(
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    reviewer: Annotated[str, typer.Option("--reviewer", envvar="SIMAP_USER", help="Your name.")] = "",
    n: Annotated[int, typer.Option("--n", min=1, help="Ventures to review in this session.")] = 10,
    min_score: Annotated[float, typer.Option("--min-score", help="Show suggestions from this score.")] = 0.3,
    retrain_every: Annotated[
        int, typer.Option("--retrain-every", help="Retrain after N decisions (0: never).")
    ] = 0,
) -> None:
    """Review suggestions from the keyboard: a accept, r reject, s skip, + CODE add, q quit."""
    from simap.review.queue import review_queue
    from simap.store import repo

    if not reviewer:
        raise typer.BadParameter(
            "say who you are with --reviewer NAME (or SIMAP_USER)", param_hint="--reviewer"
        )
    with _project(project, reviewer) as proj:
        book = proj.current_codebook()
        latest = _latest_machine_coder(proj.store)
        queue = review_queue(proj.store, book, n=n, reviewer=reviewer)
        assignments = proj.assignments(book)
        docs = repo.load_documents(proj.store, queue["venture_id"].tolist())
        decided = 0
        for vid in queue["venture_id"]:
            vdocs = docs[docs["venture_id"] == vid]
            sugg = one_suggestion_per_code(
                assignments[
                    (assignments["venture_id"] == vid)
                    & (assignments["source"] == "machine")
                    & (assignments["score"] >= min_score)
                ],
                latest,
            )
            console.rule(f"[bold]{vid}")
            for fld, text in zip(vdocs["field"], vdocs["text"], strict=True):
                spans = [  # the best phrase of the evidence sentence when the coder found one
                    (p.get("start", e["start"]), p.get("end", e["end"]), c)
                    for c, ev in zip(sugg["code_id"], sugg["evidence"], strict=True)
                    for e in (ev or [])[:1]
                    for p in [e.get("phrase") if isinstance(e.get("phrase"), dict) else {}]
                    if e.get("field") == fld and "start" in e
                ]
                console.print(Text(f"{fld}: ", style="dim") + highlight(text, spans))
            for code_id, score, ev in zip(sugg["code_id"], sugg["score"], sugg["evidence"], strict=True):
                quote = ev[0]["text"] if ev else ""
                console.print(
                    f"[bold]{code_id}[/bold] {book.code(code_id).name} (score {score:.2f}): "
                    f"[italic]{quote}[/italic]"
                )
                answer = console.input(PROMPT).strip().lower()
                if answer.startswith("q"):
                    console.print(f"{decided} decisions recorded.")
                    return
                if answer.startswith(("a", "r")):
                    repo.record_decision(
                        proj.store,
                        venture_id=vid,
                        code_id=code_id,
                        coder=reviewer,
                        status="accepted" if answer.startswith("a") else "rejected",
                        codebook_version=book.version,
                        evidence=ev[:1] if ev else [],
                    )
                    decided += 1
            while True:
                extra = console.input(ADD_PROMPT).strip()
                if extra.lower() in ("q", "quit"):
                    console.print(f"{decided} decisions recorded.")
                    return
                unknown = [c for c in extra.split() if c not in book.ids()]
                if not unknown:
                    break
                console.print(
                    f"[red]not a code of {book.name}:[/red] {' '.join(unknown)}; "
                    f"codes are {', '.join(book.ids())}",
                    highlight=False,
                )
            for code_id in extra.split():
                repo.record_decision(
                    proj.store,
                    venture_id=vid,
                    code_id=code_id,
                    coder=reviewer,
                    status="accepted",
                    codebook_version=book.version,
                )
                decided += 1
            if retrain_every and proj.maybe_retrain(every=retrain_every, codebook=book) is not None:
                console.print("[green]Retrained the learning coder and re-coded the project.[/green]")
        console.print(f"{decided} decisions recorded.")


def register(app: typer.Typer) -> None:
    app.command("import-codes")(import_codes_cmd)
    app.command("train")(train_cmd)
    review_app = typer.Typer(
        help="Review machine suggestions: the queue and a keyboard review loop.", invoke_without_command=True
    )

    @review_app.callback()
    def _review(
        ctx: typer.Context,
        project: ProjectOpt = DEFAULT_PROJECT_FILE,
        reviewer: Annotated[str, typer.Option("--reviewer", envvar="SIMAP_USER", help="Your name.")] = "",
        n: Annotated[int, typer.Option("--n", min=1, help="Ventures in this session.")] = 10,
        min_score: Annotated[float, typer.Option("--min-score")] = 0.3,
        retrain_every: Annotated[int, typer.Option("--retrain-every")] = 0,
    ) -> None:
        """Review suggestions from the keyboard: a accept, r reject, s skip, q quit; then add codes."""
        if ctx.invoked_subcommand is None:
            review_cmd(
                project=project, reviewer=reviewer, n=n, min_score=min_score, retrain_every=retrain_every
            )

    review_app.command("next")(next_cmd)
    app.add_typer(review_app, name="review")
