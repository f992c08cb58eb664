"""The ``simap`` command line: a thin shell over the library (parse, call, format).

Errors are turned into a message and an exit code in exactly one place: :func:`main`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table

from simap.defaults import DEFAULT_BATCH_VENTURES, DEFAULT_EMBEDDER, DEFAULT_MIN_SCORE, DEFAULT_WORKERS
from simap.errors import SimapError
from simap.progress import progress_bar, set_quiet
from simap.review.commands import AtLeastOneOpt, CodebookOpt, ContextFieldOpt, LevelOpt, coder_params

app = typer.Typer(
    help="simap: Social Innovation Mapping. Import, code, map and evaluate ventures.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
codebook_app = typer.Typer(help="List, show, validate and export codebooks.", no_args_is_help=True)
export_app = typer.Typer(help="Export project data.", no_args_is_help=True)
models_app = typer.Typer(help="Local embedding models (offline).", no_args_is_help=True)
db_app = typer.Typer(help="Project database: status and migrations.", no_args_is_help=True)
app.add_typer(codebook_app, name="codebook")
app.add_typer(export_app, name="export")
app.add_typer(models_app, name="models")
app.add_typer(db_app, name="db")

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # error messages are never cut into lines

ProjectOpt = Annotated[
    str,
    typer.Option(
        "--project",
        "-p",
        envvar="SIMAP_PROJECT",
        help="Project database: a SQLite file path or a database URL (postgresql+psycopg://...).",
    ),
]
DEFAULT_PROJECT_FILE = "simap-project.db"
MinScoreOpt = Annotated[
    float,
    typer.Option(
        "--min-score", min=0.0, max=1.0, help="Machine suggestions count from this calibrated score."
    ),
]
AcceptedOnlyOpt = Annotated[bool, typer.Option("--accepted-only", help="Count only codes a human accepted.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar (it goes to stderr).")]


@app.callback()
def _global_options(
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars on any command (or SIMAP_QUIET=1).")
    ] = False,
) -> None:
    """simap: Social Innovation Mapping. Import, code, map and evaluate ventures."""
    set_quiet(quiet)


def _project(path: str) -> Any:
    from simap.pipeline import Project

    return Project.open(path, actor=os.environ.get("SIMAP_USER", "cli"))


# -- import ---------------------------------------------------------------------------------
@app.command("import")
def import_cmd(
    path: Annotated[
        Path,
        typer.Argument(
            help="JSONL, CSV, Parquet, XLSX, DPG JSON, a folder of .txt/.md/.pdf/.docx, or a REFI-QDA "
            "project (.qdpx/.qde from NVivo, ATLAS.ti, MAXQDA, QualCoder)"
        ),
    ],
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    format: Annotated[
        str | None, typer.Option("--format", "-f", help="Reader name; detected when omitted.")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            "-m",
            help="Field mapping, e.g. --map id=ein --map text=mission,program --map country=nation",
        ),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import valid rows, report the bad ones.")
    ] = False,
    update: Annotated[
        bool,
        typer.Option(
            "--update",
            help="Overwrite non-empty fields even when the --map differs from the file's last import.",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="REFI-QDA: refuse a file that deviates from the standard.")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Import ventures (upsert by id), streamed in chunks of 5,000 rows in one transaction: memory
    stays flat at any size, and a bad row stops the import with nothing written.

    Re-importing a file with another --map than last time is refused when it would overwrite
    non-empty fields (--update to do it anyway); --dry-run shows the changes first."""
    from simap.ingest.mapping import FieldMapping

    mapping = FieldMapping.parse_cli(map_) if map_ else None
    if dry_run:
        with _project(project) as proj:
            plan = proj.plan_import(path, format=format, mapping=mapping, skip_invalid=skip_invalid)
        print_import_plan(plan)
        return
    with _project(project) as proj, progress_bar(quiet=quiet) as progress:
        stats = proj.import_path(
            path,
            format=format,
            mapping=mapping,
            skip_invalid=skip_invalid,
            strict=strict,
            progress=progress,
            update=update,
        )
    if hasattr(stats, "convention"):
        _print_refi_report(stats)
        return
    console.print(
        f"[green]Imported[/green] {stats.total} ventures from {path}: {stats.created} new, "
        f"{stats.updated} updated, {stats.unchanged} unchanged; {stats.segments} sentences."
    )
    if stats.skipped:
        err_console.print(f"[yellow]Skipped {len(stats.skipped)} invalid rows:[/yellow]")
        for s in stats.skipped:
            err_console.print(f"  {s}")


def print_import_plan(plan: Any) -> None:
    from simap.ingest.reimport import describe_mapping

    console.print(
        f"[bold]Dry run[/bold] of {plan.source} with {describe_mapping(plan.mapping)}: "
        f"{len(plan.created)} new, {plan.updated} updated, {plan.unchanged} unchanged; nothing written."
    )
    if plan.mapping_changed:
        err_console.print(
            f"[yellow]warning:[/yellow] the last import of {plan.source} used "
            f"{describe_mapping(plan.earlier_mapping)}"
            + ("; this import would be refused without --update." if plan.overwrites else ".")
        )
    if plan.overwrites or plan.filled:
        table = Table("venture", "field", "now", "would become", title="Field changes")
        for c in [*plan.overwrites, *plan.filled][:50]:
            table.add_row(c.venture_id, c.field, "" if c.old is None else str(c.old), str(c.new))
        console.print(table)
    if plan.texts_changed:
        console.print(f"{len(plan.texts_changed)} texts change: {', '.join(plan.texts_changed[:10])}")
    if plan.skipped:
        err_console.print(f"[yellow]{len(plan.skipped)} invalid rows would be skipped[/yellow]")


def _print_refi_report(report: Any) -> None:
    for w in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    for loss in report.losses:
        err_console.print(f"[yellow]not kept:[/yellow] {loss}", highlight=False)
    console.print(
        f"[green]Imported[/green] {report.path} ({report.origin or 'unknown tool'}, {report.xml_name}): "
        f"{report.codes} codes, {report.sources} sources ({report.text_sources} with text), "
        f"{report.selections} selections, {report.codings} codings by {len(report.coders)} coders "
        f"({', '.join(report.coders) or 'none'}), {report.notes} notes.",
        highlight=False,
    )
    console.print(
        f"Ventures: {report.created} new, {report.updated} updated, {report.unchanged} unchanged; "
        f"{report.segments} sentences. Codebook {report.codebook}"
        + (f" with {len(report.new_codes)} new codes" if report.new_codes else "")
        + ".",
        highlight=False,
    )
    console.print(f"Positions: {report.convention}", highlight=False)


# -- code -----------------------------------------------------------------------------------
@app.command("code")
def code_cmd(
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    codebook: Annotated[
        str | None,
        typer.Option(
            "--codebook",
            "-c",
            help="Built-in name, YAML file, or a project version NAME@VERSION (`simap codebook list`). "
            "Default: the project's working codebook (last saved on the Codebook page or coded).",
        ),
    ] = None,
    embedder: Annotated[
        str, typer.Option("--embedder", "-e", help="Embedding backend (see `simap backends`).")
    ] = DEFAULT_EMBEDDER,
    model: Annotated[
        str | None, typer.Option("--model", help="Model path or hub name for the embedder.")
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Processes/threads to use.")
    ] = DEFAULT_WORKERS,
    coder: Annotated[
        str,
        typer.Option(
            "--coder",
            help="zeroshot, supervised (the model `simap train` saved), llm (a chat model), or "
            "ensemble (supervised + llm).",
        ),
    ] = "zeroshot",
    llm_base_url: Annotated[
        str | None,
        typer.Option(
            "--llm-base-url",
            help="--coder llm: OpenAI-compatible endpoint, e.g. http://127.0.0.1:11434/v1 "
            "(default: $SIMAP_LLM_BASE_URL, then `simap config` llm.base_url).",
        ),
    ] = None,
    llm_model: Annotated[
        str | None,
        typer.Option(
            "--llm-model", help="--coder llm: model name (default: $SIMAP_LLM_MODEL, then llm.model)."
        ),
    ] = None,
    llm_api_key: Annotated[
        str | None,
        typer.Option(
            "--llm-api-key", help="--coder llm: API key (default: $SIMAP_LLM_API_KEY; never stored)."
        ),
    ] = None,
    estimate: Annotated[
        bool,
        typer.Option("--estimate", help="--coder llm: print the time and cost estimate and stop."),
    ] = False,
    precision: Annotated[
        float | None,
        typer.Option(
            "--precision",
            min=0.01,
            max=0.99,
            help="Target precision (e.g. 0.8) for a calibrated coder: less sure codes are left for review.",
        ),
    ] = None,
    ensemble_mode: Annotated[
        str,
        typer.Option(
            "--ensemble-mode",
            help="--coder ensemble: gate (disagreements of the trained and the LLM coder are left for "
            "review) or stack (logistic regression on the trained coder's calibration data).",
        ),
    ] = "gate",
    executor: Annotated[
        str,
        typer.Option(
            "--executor",
            help="Where batches run: local (this machine, --workers processes) or dask (a Dask "
            "cluster: --scheduler, $SIMAP_DASK_ADDRESS, else a LocalCluster of --workers).",
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="--executor dask: scheduler address, e.g. tcp://10.0.0.5:8786."),
    ] = None,
    batch: Annotated[
        int,
        typer.Option(
            "--batch", min=1, help="Ventures per batch: the unit of memory, of a commit and of --resume."
        ),
    ] = DEFAULT_BATCH_VENTURES,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the newest interrupted or failed run (same codebook, coder, options) "
            "after its last committed batch.",
        ),
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Machine-code every venture against a codebook, with evidence sentences and scores.

    The run streams in batches and commits each one: a run that was killed or failed continues
    with `simap code --resume` and ends as an uninterrupted run would."""
    params = {"model": model} if model else None
    coder_params = None
    if coder in ("llm", "ensemble"):
        coder_params = {"base_url": llm_base_url, "model": llm_model, "api_key": llm_api_key}
        if coder == "ensemble":
            coder_params["mode"] = ensemble_mode
    elif estimate:
        raise typer.BadParameter("the estimate is for --coder llm or ensemble", param_hint="--estimate")
    with _project(project) as proj:
        if coder in ("llm", "ensemble"):
            console.print(str(proj.estimate_code(codebook=codebook, coder=coder, coder_params=coder_params)))
            if estimate:
                return
        with progress_bar(quiet=quiet) as progress:
            result = proj.code(
                codebook=codebook,
                embedder=embedder,
                embedder_params=params,
                coder=coder,
                coder_params=coder_params,
                workers=workers,
                precision=precision,
                executor=executor,
                scheduler=scheduler,
                batch_ventures=batch,
                resume=resume,
                progress=progress,
            )
    resumed = result.stats.get("resumed")
    if resumed:
        console.print(f"Resumed run {result.run_id} after its last committed batch.")
    console.print(
        f"[green]Coded[/green] {result.ventures} ventures ({result.segments} sentences) against "
        f"{result.codebook}@{result.codebook_version} with {result.coder} in {result.seconds:.1f}s "
        f"({result.ventures / max(result.seconds, 1e-9):.0f} ventures/s): "
        f"{result.present} codes at score >= {DEFAULT_MIN_SCORE}. "
        f"Run {result.run_id}."
    )
    llm = result.stats.get("coder") if coder in ("llm", "ensemble") else None
    if llm:
        console.print(
            f"LLM: {llm['requests']} requests, {llm['cache_hits']} cached answers, {llm['retries']} retries; "
            f"quotes {llm['exact']} exact, {llm['normalized'] + llm['fuzzy']} repaired (flagged), "
            f"{llm['dropped']} dropped; {result.params.get('data_policy', '')}."
        )
    if precision is not None or result.abstained:
        why = f"Target precision {precision:.2f}" if precision is not None else "The coders disagree"
        console.print(
            f"{why}: {result.abstained} less sure suggestions left for review "
            "(status abstained; `simap review` and the workbench queue ask about them first)."
        )


# -- map ------------------------------------------------------------------------------------
@app.command("map")
def map_cmd(
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    html: Annotated[Path | None, typer.Option("--html", help="Where to write the HTML report.")] = None,
    min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
    accepted_only: AcceptedOnlyOpt = False,
    codebook: Annotated[
        str | None, typer.Option("--codebook", "-c", help="Default: the last coded one.")
    ] = None,
) -> None:
    """Print code prevalence and the principle x barrier table; write the HTML map."""
    from simap.maps.terminal import render_map

    with _project(project) as proj:
        landscape = proj.build_map(
            codebook=codebook, min_score=min_score, include_suggestions=not accepted_only
        )
        render_map(landscape, console)
        out = html or Path(Path(project).stem + "-map.html" if "://" not in project else "simap-map.html")
        written = proj.write_report(
            out, codebook=codebook, min_score=min_score, include_suggestions=not accepted_only
        )
    console.print(f"[green]Report written:[/green] {written.resolve()}")


# -- export ---------------------------------------------------------------------------------
@export_app.command("codes")
def export_codes_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file.")],
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    format: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv")] = "jsonl",
    min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
    accepted_only: AcceptedOnlyOpt = False,
) -> None:
    """One row per venture with its codes, scores, statuses and evidence."""
    with _project(project) as proj:
        n = proj.export_codes(out, fmt=format, min_score=min_score, include_suggestions=not accepted_only)
    console.print(f"[green]Exported[/green] {n} ventures to {out}")


@export_app.command("project")
def export_project_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file (.qdpx).")],
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    format: Annotated[str, typer.Option("--format", "-f", help="qdpx (REFI-QDA project)")] = "qdpx",
    min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
    codebook: Annotated[
        str | None, typer.Option("--codebook", "-c", help="Default: the last coded one.")
    ] = None,
    rejections: Annotated[
        bool,
        typer.Option("--rejections/--no-rejections", help="Write human rejections as notes (memos)."),
    ] = True,
) -> None:
    """Write the project (texts, codes of every coder, memos, attributes) as REFI-QDA QDPX."""
    with _project(project) as proj:
        stats = proj.export_project(
            out, fmt=format, codebook=codebook, min_score=min_score, rejections=rejections
        )
    console.print(
        f"[green]Exported[/green] {stats.ventures} ventures, {stats.sources} sources, {stats.selections} "
        f"coded selections, {stats.codings} codings by {stats.users} coders and {stats.notes} notes to {out}"
    )
    for reason, n in stats.not_exported.items():
        err_console.print(f"[yellow]not exported:[/yellow] {n} {reason}", highlight=False)


@export_app.command("codebook")
def export_codebook_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Output file.")],
    format: Annotated[
        str, typer.Option("--format", "-f", help="qdc (REFI-QDA: NVivo, ATLAS.ti, ...), yaml, json, csv")
    ] = "qdc",
    codebook: Annotated[
        str | None,
        typer.Option("--codebook", "-c", help="Built-in name or file; default: the working codebook."),
    ] = None,
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
) -> None:
    """Write a codebook as a REFI-QDA codebook (.qdc) or as YAML, JSON or CSV."""
    if codebook is not None:  # no project needed
        from simap import codebook as cb
        from simap.interop import write_codebook

        written = write_codebook(cb.load(codebook), out, format)
    else:
        with _project(project) as proj:
            written = proj.export_codebook(out, fmt=format)
    console.print(f"[green]Written[/green] {written}")


@app.command("import-codebook")
def import_codebook_cmd(
    path: Annotated[Path, typer.Argument(help="REFI-QDA codebook (.qdc) from NVivo, ATLAS.ti, MAXQDA, ...")],
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    strict: Annotated[
        bool, typer.Option("--strict", help="Refuse a file that deviates from REFI-QDA 1.0.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Codebook name (default: from the file).")] = (
        None
    ),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write it as YAML here.")] = None,
) -> None:
    """Import a REFI-QDA codebook as the project's working codebook (a new version)."""
    from simap import codebook as cb

    with _project(project) as proj:
        result = proj.import_codebook(path, strict=strict, name=name)
    book = result.codebook
    for w in result.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {w}", highlight=False)
    for loss in result.losses:
        err_console.print(f"[yellow]not kept:[/yellow] {loss}", highlight=False)
    categories = sum(1 for c in book.codes if not c.codable)
    console.print(
        f"[green]Imported[/green] codebook {book.name}@{book.version} from {path}: {len(book.codes)} codes "
        f"({categories} categories); now the working codebook of {project}."
    )
    if out:
        out.write_text(cb.dump(book, "yaml"), encoding="utf-8")
        console.print(f"[green]Written[/green] {out}")


# -- evaluate -------------------------------------------------------------------------------
@app.command("evaluate")
def evaluate_cmd(
    gold: Annotated[Path | None, typer.Option("--gold", help='JSONL of {"id": ..., "codes": [...]}')] = None,
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
    accepted_only: AcceptedOnlyOpt = False,
    cv: Annotated[
        int | None, typer.Option("--cv", min=2, help="K-fold learning curve from the human labels.")
    ] = None,
    chart: Annotated[
        Path | None,
        typer.Option(
            "--chart",
            help="SVG: with --gold the reliability diagram of the machine's scores; with --cv the "
            "learning curve, and its reliability diagram beside it (NAME-reliability.svg).",
        ),
    ] = None,
    embedder: Annotated[
        str, typer.Option("--embedder", "-e", help="With --cv: embedding backend.")
    ] = DEFAULT_EMBEDDER,
    codebook: CodebookOpt = None,
    level: LevelOpt = "auto",
    context_field: ContextFieldOpt = None,
    at_least_one: AtLeastOneOpt = False,
    coder: Annotated[
        str | None,
        typer.Option(
            "--coder",
            help="With --gold: whom to compare, 'machine' (default: the newest coding run's "
            "suggestions), a human coder's name or gold:<set>.",
        ),
    ] = None,
    between: Annotated[
        tuple[str, str] | None,
        typer.Option("--between", help="Agreement between two coders A B (names as for --coder)."),
    ] = None,
    allow_same: Annotated[
        bool, typer.Option("--allow-same", help="Compare a coder imported from the gold file anyway.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Compare the machine (or --coder NAME) with gold labels, two coders (--between A B), or
    cross-validate the learning coder (--cv K)."""
    if cv is not None:
        from simap.coding.training import learning_curve_svg

        with _project(project) as proj, progress_bar(quiet=quiet) as progress:
            curve = proj.cross_validate(
                k=cv,
                codebook=codebook,
                embedder=embedder,
                params=coder_params(level, context_field, at_least_one),
                progress=progress,
            )
        if as_json:
            console.print_json(curve.to_json(orient="records"))
        else:
            table = Table(title=f"Learning curve ({cv}-fold cross-validation on the human labels)")
            for col in curve.columns:
                table.add_column(col, justify="right")
            for rec in curve.to_dict("records"):
                table.add_row(*(str(int(v)) if k == "labels" else f"{v:.3f}" for k, v in rec.items()))
            console.print(table)
        if chart:
            chart.write_text(learning_curve_svg(curve), encoding="utf-8")
            console.print(f"[green]Chart written:[/green] {chart}")
            oof = curve.attrs.get("oof")
            if oof is not None and len(oof):
                _write_reliability(
                    chart.with_name(chart.stem + "-reliability.svg"),
                    oof["score"].to_numpy(float),
                    oof["truth"].to_numpy(bool),
                    f"Held-out scores, {int(curve['labels'].max())} labels ({cv}-fold)",
                )
        return
    if between is not None:
        with _project(project) as proj:
            report = proj.agreement_between(between[0], between[1], codebook=codebook, min_score=min_score)
    elif gold is None:
        raise typer.BadParameter(
            "give --gold FILE, --between A B, or --cv K to cross-validate on the human labels",
            param_hint="--gold",
        )
    else:
        with _project(project) as proj:
            report = proj.evaluate(
                gold,
                coder=coder,
                codebook=codebook,
                min_score=min_score,
                include_suggestions=not accepted_only,
                allow_same=allow_same,
            )
            if chart:
                scored = proj.machine_scores_against(gold)
                _write_reliability(
                    chart,
                    scored["score"].to_numpy(float),
                    scored["truth"].to_numpy(bool),
                    "Machine scores vs gold",
                )
    if as_json:
        console.print_json(json.dumps(report.to_dict()))
        return
    print_agreement(report)


def _write_reliability(path: Path, score: Any, truth: Any, title: str) -> None:
    from simap.coding.calibration import reliability, reliability_svg

    table = reliability(score, truth)
    path.write_text(reliability_svg(table, title=title), encoding="utf-8")
    console.print(
        f"[green]Reliability diagram written:[/green] {path} "
        f"(Brier {table.attrs['brier']:.3f}, ECE {table.attrs['ece']:.3f}, {int(table['n'].sum())} scores)"
    )


def print_agreement(report: Any) -> None:
    for warning in report.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")
    table = Table(title=f"{report.title} ({report.n_items} ventures)")
    for col in ("code", "support", "predicted", "precision", "recall", "F1", "kappa"):
        table.add_column(col, justify="right" if col != "code" else "left")

    def num(value: float, used: bool = True) -> str:
        return "-" if not used or value != value else f"{value:.2f}"  # NaN: undefined

    for r in report.per_code.to_dict("records"):
        used = bool(r["support"] or r["predicted"])  # a code nobody used has no agreement to show
        table.add_row(
            r["code_id"],
            str(r["support"]),
            str(r["predicted"]),
            num(r["precision"], bool(r["predicted"])),
            num(r["recall"], bool(r["support"])),
            num(r["f1"], used),
            num(r["kappa"], used),
        )
    console.print(table)
    p = report.pooled
    console.print(
        f"pooled: precision {p['precision']:.3f}  recall {p['recall']:.3f}  F1 {p['f1']:.3f}  "
        f"Cohen's kappa {p['kappa']:.3f}  Krippendorff's alpha {p['alpha']:.3f}  "
        f"macro-F1 {p['macro_f1']:.3f}"
    )
    if report.missing:
        err_console.print(
            f"[yellow]{len(report.missing)} reference ids were not coded by the compared coder[/yellow] "
            f"(e.g. {', '.join(report.missing[:5])})"
        )


# -- codebooks ------------------------------------------------------------------------------
def _existing_project(project: str | None) -> Any:
    """The project when it exists (never creates a database just to read), else None."""
    if not project:
        return None
    if "://" not in project and not Path(project).exists():
        return None
    return _project(project)


def _load_codebook(ref: str, project: str | None) -> Any:
    """A codebook by name, file or project version NAME@VERSION (needs the project)."""
    from simap.review.codebook_versions import resolve

    proj = _existing_project(project)
    if proj is None:
        return resolve(None, ref)
    with proj:
        return resolve(proj.store, ref)


CodebookProjectOpt = Annotated[
    str | None,
    typer.Option(
        "--project",
        "-p",
        envvar="SIMAP_PROJECT",
        help="Project whose stored versions (NAME@VERSION) to use; default simap-project.db if it exists.",
    ),
]


@codebook_app.command("list")
def codebook_list(
    project: CodebookProjectOpt = DEFAULT_PROJECT_FILE,
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON.")] = False,
) -> None:
    """List the built-in codebooks and the project's stored versions (use them as NAME@VERSION)."""
    from simap import codebook as cb
    from simap.review.codebook_versions import list_versions

    proj = _existing_project(project)
    versions = []
    if proj is not None:
        with proj:
            versions = list_versions(proj.store)
    if as_json:
        builtins = [{"name": n, "version": cb.load(n).version} for n in cb.builtin_names()]
        console.print_json(json.dumps({"builtin": builtins, "project": [v.to_dict() for v in versions]}))
        return
    table = Table("version", "codes", "kinds", "title", title="Built-in codebooks")
    table.columns.insert(0, Column("name", no_wrap=True))
    for name in cb.builtin_names():
        book = cb.load(name)
        table.add_row(
            name,
            book.version,
            str(len(book.active_codes)),
            ", ".join(sorted({c.kind for c in book.codes})),
            book.title,
        )
    console.print(table)
    if proj is None:
        return
    table = Table(title=f"Codebook versions in {project} (newest first)")
    for col in ("codebook", "codes", "runs", "last coded", "state"):
        table.add_column(col, no_wrap=col == "codebook")
    for v in versions:
        state = ", ".join(
            s for s, on in (("working", v.working), ("suggestions", v.coded), ("built-in", v.builtin)) if on
        )
        last = (v.last_coded or "").replace("T", " ")[:16]
        table.add_row(v.ref, str(v.codes), str(v.runs), last, state)
    console.print(table if versions else "No codebook stored in this project yet.")


@codebook_app.command("diff")
def codebook_diff(
    a: Annotated[str, typer.Argument(help="The earlier version (NAME@VERSION, a version, or a name).")],
    b: Annotated[str | None, typer.Argument(help="The later version; default: the working codebook.")] = None,
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    limit: Annotated[int, typer.Option("--limit", min=0, help="Ventures to list (0: all).")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
) -> None:
    """Re-code diff: which codes appear or disappear, for which ventures, from coding A to coding B."""
    from simap.review.codebook_versions import diff

    with _project(project) as proj:
        result = diff(proj.store, a, b)
    if as_json:
        console.print_json(json.dumps(result.to_dict()))
        return
    console.print(
        f"[bold]{result.a}[/bold] (run {result.run_a}) -> [bold]{result.b}[/bold] (run {result.run_b}): "
        f"{len(result.rows)} ventures change, {result.unchanged} unchanged."
    )
    if result.codes_added or result.codes_removed:
        console.print(
            f"codes added: {', '.join(result.codes_added) or 'none'}; "
            f"removed or retired: {', '.join(result.codes_removed) or 'none'}"
        )
    if result.per_code:
        table = Table("code", "appears", "disappears", title="Per code")
        for code, n in result.per_code.items():
            table.add_row(code, f"+{n['appeared']}", f"-{n['disappeared']}")
        console.print(table)
    if result.rows:
        table = Table("venture", "name", "appears", "disappears", title="Per venture")
        for r in result.rows[: limit or None]:
            table.add_row(r.venture_id, r.name, " ".join(r.appeared), " ".join(r.disappeared))
        console.print(table)
        if limit and len(result.rows) > limit:
            console.print(f"... and {len(result.rows) - limit} more (--limit 0 lists all)")


@codebook_app.command("show")
def codebook_show(
    name: Annotated[
        str, typer.Argument(help="Built-in name, file, or project version NAME@VERSION.")
    ] = "social-innovation",
    code: Annotated[str | None, typer.Option("--code", help="Show one code in full.")] = None,
    project: CodebookProjectOpt = DEFAULT_PROJECT_FILE,
) -> None:
    """Show a codebook's codes (or one code in full)."""
    book = _load_codebook(name, project)
    if code:
        c = book.code(code)
        console.print(f"[bold]{c.id}[/bold] {c.name} ({c.kind})\n{c.definition}")
        for label, items in (
            ("include", c.include),
            ("exclude", c.exclude),
            ("examples", c.examples),
            ("counter examples", c.counter_examples),
            ("cues", c.cues),
            ("related", c.related),
        ):
            if items:
                console.print(f"[bold]{label}[/bold]")
                for it in items:
                    console.print(f"  - {it}")
        for s in c.solutions:
            console.print(f"[bold]solution[/bold] {s.title} (cost {s.cost}): {s.description}")
        return
    table = Table(title=f"{book.name}@{book.version}: {book.title}")
    for col in ("id", "kind", "name", "examples", "cues", "solutions"):
        table.add_column(col, no_wrap=col in ("id", "kind"))
    for c in book.codes:
        table.add_row(c.id, c.kind, c.name, str(len(c.examples)), str(len(c.cues)), str(len(c.solutions)))
    console.print(table)


@codebook_app.command("validate")
def codebook_validate(path: Annotated[Path, typer.Argument(help="Codebook YAML/JSON file.")]) -> None:
    """Validate a codebook file; errors name the file, the code and the field."""
    from simap import codebook as cb

    book = cb.load_file(path)
    console.print(f"[green]valid[/green]: {book.name}@{book.version}, {len(book.codes)} codes")


@codebook_app.command("export")
def codebook_export(
    name: Annotated[
        str, typer.Argument(help="Built-in name, file, or project version NAME@VERSION.")
    ] = "social-innovation",
    format: Annotated[str, typer.Option("--format", "-f", help="yaml, json, csv or qdc")] = "yaml",
    out: Annotated[Path | None, typer.Option("--out", "-o")] = None,
    project: CodebookProjectOpt = DEFAULT_PROJECT_FILE,
) -> None:
    """Write a codebook as YAML, JSON, CSV or REFI-QDA QDC (to start your own)."""
    from simap import codebook as cb

    book = _load_codebook(name, project)
    if format == "qdc":
        from simap.interop.qdc import qdc_bytes, write_qdc

        if out:
            console.print(f"[green]Written[/green] {write_qdc(book, out)}")
        else:
            sys.stdout.write(qdc_bytes(book).decode("utf-8"))
        return
    text = cb.dump(book, format)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"[green]Written[/green] {out}")
    else:
        sys.stdout.write(text)


# -- models, backends, db -------------------------------------------------------------------
@models_app.command("distill")
def models_distill(
    out: Annotated[
        Path | None, typer.Option("--out", help="Default: $SIMAP_HOME/models/minilm-static")
    ] = None,
    pca_dims: Annotated[int, typer.Option("--pca-dims", help="Dimensions kept by PCA.")] = 256,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing model.")] = False,
) -> None:
    """Distill fast static embeddings (model2vec) from the packaged MiniLM, offline."""
    from simap.embed.models import default_static_path, distill_static

    target = out or default_static_path()
    with console.status(f"Distilling static embeddings into {target} ..."):
        path = distill_static(target, pca_dims=pca_dims, overwrite=force)
    console.print(f"[green]Static model written:[/green] {path}")


@models_app.command("list")
def models_list() -> None:
    """Models available locally."""
    from simap.embed.models import list_models

    table = Table("name", "backend", "path", "available")
    for m in list_models():
        table.add_row(*(str(m.get(k, "")) for k in ("name", "backend", "path", "available")))
    console.print(table)


@app.command("backends")
def backends_cmd() -> None:
    """List the registered backends of every stage."""
    from simap.coding import coders
    from simap.embed import embedders
    from simap.ingest import readers

    table = Table("stage", "name", "description")
    for stage, reg in (("readers", readers), ("embedders", embedders), ("coders", coders)):
        for name, help_ in reg.describe().items():
            table.add_row(stage, name, help_)
    console.print(table)


@db_app.command("status")
def db_status(project: ProjectOpt = DEFAULT_PROJECT_FILE) -> None:
    """Current schema revision, pending migrations and row counts."""
    from simap.store import repo, schema
    from simap.store.db import open_store

    store = open_store(project, migrate=False)
    console.print(
        f"database: {store.url}\nrevision: {store.current_revision()} (head {store.head_revision()})"
    )
    pending = store.pending()
    console.print(f"pending migrations: {', '.join(pending) if pending else 'none'}")
    if not pending:
        for t in (schema.Venture, schema.Segment, schema.Assignment, schema.Run, schema.Event):
            console.print(f"  {t.__tablename__}: {repo.count(store, t)}")


@db_app.command("migrate")
def db_migrate(project: ProjectOpt = DEFAULT_PROJECT_FILE) -> None:
    """Apply pending migrations (a SQLite file is backed up first)."""
    from simap.store.db import open_store

    store = open_store(project, migrate=False)
    backup = store.migrate()
    console.print(
        f"[green]up to date[/green] at {store.current_revision()}" + (f"; backup: {backup}" if backup else "")
    )


@db_app.command("backup")
def db_backup(
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Backup file (default: <project>.bak-<time>).")
    ] = None,
) -> None:
    """Write a consistent copy of a SQLite project (safe while the web app runs)."""
    from simap.store.db import open_store

    store = open_store(project, migrate=False)
    try:
        made = store.backup(out)
    finally:
        store.dispose()
    if made is None:
        console.print("[yellow]nothing to back up[/yellow]: the project is empty or missing")
        return
    console.print(f"[green]Backup written:[/green] {made}")


@db_app.command("restore")
def db_restore(
    backup: Annotated[Path, typer.Argument(help="A file written by `simap db backup` (or a migration).")],
    project: ProjectOpt = DEFAULT_PROJECT_FILE,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Replace the project without asking.")] = False,
) -> None:
    """Replace a SQLite project with a backup; the current data are kept as <file>.pre-restore-<time>.
    Stop `simap serve` and other writers first."""
    from simap.store.db import open_store

    if not yes:
        typer.confirm(f"Replace {project} with {backup}?", abort=True)
    store = open_store(project, migrate=False)
    try:
        saved = store.restore(backup)
        revision = store.current_revision()
    finally:
        store.dispose()
    console.print(
        f"[green]Restored[/green] {project} from {backup} (revision {revision})"
        + (f"; the data it replaced: {saved}" if saved else ""),
        soft_wrap=True,  # paths stay whole
    )


# -- demo -----------------------------------------------------------------------------------
@app.command("demo")
def demo_cmd(
    data: Annotated[
        Path | None, typer.Option("--data", help="Run on this file instead of the demo corpus.")
    ] = None,
    gold: Annotated[Path | None, typer.Option("--gold", help="Gold labels to evaluate against.")] = None,
    project: Annotated[str, typer.Option("--project", "-p")] = "demo-project/demo.db",
    embedder: Annotated[str, typer.Option("--embedder", "-e", help="Embedding backend.")] = DEFAULT_EMBEDDER,
    workers: Annotated[int, typer.Option("--workers", "-w", min=1)] = 2,
    quiet: QuietOpt = False,
) -> None:
    """Import, code, map and evaluate the shipped demo corpus (or --data) end to end."""
    from simap.demo import GOLD_PATH, VENTURES_PATH
    from simap.maps.terminal import render_map

    src = data or Path(str(VENTURES_PATH))
    gold_path = gold if gold else (Path(str(GOLD_PATH)) if data is None else None)
    Path(project).parent.mkdir(parents=True, exist_ok=True)
    with _project(project) as proj, progress_bar(quiet=quiet) as progress:
        stats = proj.import_path(src)
        console.print(
            f"[green]Imported[/green] {stats.total} ventures from {src} ({stats.segments} new sentences)"
        )
        result = proj.code(embedder=embedder, workers=workers, progress=progress)
        console.print(
            f"[green]Coded[/green] {result.ventures} ventures with {result.coder} in {result.seconds:.1f}s"
        )
        landscape = proj.build_map()
        render_map(landscape, console)
        report = proj.write_report(Path(project).with_name("social-innovation-map.html"))
        proj.export_codes(Path(project).with_name("codes.jsonl"))
        if gold_path:
            print_agreement(proj.evaluate(gold_path))
    console.print(f"\n[bold green]Report:[/bold green] {report.resolve()}")
    console.print(f"Codes: {Path(project).with_name('codes.jsonl').resolve()}")


# Stage packages add their own commands: each `simap/<stage>/commands.py` has `register(app)`.
EXTENSIONS = (
    "simap.store.commands",
    "simap.review.commands",
    "simap.maps.commands",
    "simap.discover.commands",
    "simap.advise.commands",
    "simap.web.commands",
)


def _register_extensions() -> None:
    import importlib

    for name in EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that stage has no commands yet
                continue
            raise
        module.register(app)


_register_extensions()


def main() -> None:
    """Entry point: run the app; turn simap errors into a message and an exit code."""
    try:
        app(standalone_mode=False)
    except SimapError as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(130)
    except Exception as exc:
        # usage errors (bad option value, unknown command): click's ClickException, or the copy
        # of it that typer >= 0.29 vendors
        if any(cls.__name__ == "ClickException" for cls in type(exc).__mro__):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(int(exc.exit_code))  # type: ignore[attr-defined]
        raise


if __name__ == "__main__":
    main()
