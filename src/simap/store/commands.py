"""``simap config``: the project's settings (e.g. the LLM coder's endpoint and data policy)."""

from __future__ import annotations

import os
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()

ProjectOpt = Annotated[
    str,
    typer.Option(
        "--project", "-p", envvar="SIMAP_PROJECT", help="Project database: a SQLite file or a database URL."
    ),
]
DEFAULT_PROJECT_FILE = "simap-project.db"


def register(app: typer.Typer) -> None:
    config_app = typer.Typer(
        help="Project settings, stored in the project database (see `simap config list`).",
        no_args_is_help=True,
    )
    app.add_typer(config_app, name="config")

    def _store(project: str):
        from simap.store.db import open_store

        return open_store(project)

    @config_app.command("list")
    def config_list(project: ProjectOpt = DEFAULT_PROJECT_FILE) -> None:
        """Every setting, its value and where it comes from (project or default)."""
        from simap.store.config import describe_config

        store = _store(project)
        try:
            rows = describe_config(store)
        finally:
            store.dispose()
        table = Table("setting", "value", "from", "meaning")
        for r in rows:
            table.add_row(r["key"], "" if r["value"] is None else str(r["value"]), r["source"], r["help"])
        console.print(table)

    @config_app.command("get")
    def config_get(
        key: Annotated[str, typer.Argument(help="Setting, e.g. llm.allow_hosted.")],
        project: ProjectOpt = DEFAULT_PROJECT_FILE,
    ) -> None:
        """Print one setting's value."""
        from simap.store.config import get_config

        store = _store(project)
        try:
            value = get_config(store, key)
        finally:
            store.dispose()
        console.print("" if value is None else str(value).lower() if isinstance(value, bool) else str(value))

    @config_app.command("set")
    def config_set(
        key: Annotated[str, typer.Argument(help="Setting, e.g. llm.allow_hosted.")],
        value: Annotated[str, typer.Argument(help="Its value, e.g. true.")],
        project: ProjectOpt = DEFAULT_PROJECT_FILE,
    ) -> None:
        """Set a setting for this project (the change is logged)."""
        from simap.store.config import set_config

        store = _store(project)
        try:
            parsed = set_config(store, key, value, actor=os.environ.get("SIMAP_USER", "cli"))
        finally:
            store.dispose()
        console.print(
            f"[green]set[/green] {key} = {str(parsed).lower() if isinstance(parsed, bool) else parsed}"
        )

    @config_app.command("unset")
    def config_unset(
        key: Annotated[str, typer.Argument(help="Setting, e.g. llm.allow_hosted.")],
        project: ProjectOpt = DEFAULT_PROJECT_FILE,
    ) -> None:
        """Remove a setting from this project (back to its default)."""
        from simap.store.config import unset_config

        store = _store(project)
        try:
            unset_config(store, key, actor=os.environ.get("SIMAP_USER", "cli"))
        finally:
            store.dispose()
        console.print(f"[green]unset[/green] {key}")
