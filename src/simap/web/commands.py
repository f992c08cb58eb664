"""``simap serve`` and ``simap users add|list|remove``: thin shells over the web app and accounts."""

from __future__ import annotations

import getpass
import os
from typing import Annotated

import typer

from simap.errors import InvalidInput

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


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(help="Workbench users of a project: add, list, remove.", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @app.command("serve")
    def serve(
        project: ProjectOpt = DEFAULT_PROJECT,
        host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
        https: Annotated[
            bool, typer.Option("--https", help="Served behind https: cookies get the Secure flag.")
        ] = False,
        title: Annotated[str, typer.Option(help="Shown in the page header.")] = "simap workbench",
        workers: Annotated[int, typer.Option(help="Worker processes (SQLite copes with a few).")] = 1,
    ) -> None:
        """Start the review workbench (web pages and the JSON API under /api)."""
        import uvicorn

        from simap.web.app import create_app
        from simap.web.settings import Settings

        settings = Settings.from_env(project=project, https=https or None, title=title)
        app_ = create_app(settings)  # migrates the database once, before any worker starts
        typer.echo(f"simap workbench on http://{host}:{port}  (project {project}; API at /api/openapi.json)")
        from simap.store import accounts

        if not accounts.list_users(app_.state.store):
            typer.echo("No users yet: add an admin with `simap users add NAME --role admin`.")
        if workers <= 1:
            uvicorn.run(app_, host=host, port=port, log_level="warning")
            return
        app_.state.store.dispose()
        os.environ.update(
            SIMAP_PROJECT=project, SIMAP_HTTPS="1" if settings.https else "0", SIMAP_TITLE=title
        )
        os.environ["SIMAP_SECRET_KEY"] = app_.state.sessions.secret.decode()  # one key for all
        uvicorn.run(
            "simap.web.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )

    @users_app.command("add")
    def users_add(
        username: Annotated[str, typer.Argument(help="Log-in name (lower case).")],
        project: ProjectOpt = DEFAULT_PROJECT,
        role: Annotated[str, typer.Option(help="admin, analyst or viewer.")] = "analyst",
        display_name: Annotated[str, typer.Option("--name", help="Name shown in the pages.")] = "",
        password_env: Annotated[
            str, typer.Option(help="Read the password from this environment variable instead of a prompt.")
        ] = "",
    ) -> None:
        """Add a user (the password is prompted for, or read from --password-env)."""
        from simap.store import accounts, open_store

        if password_env:
            password = os.environ.get(password_env, "")
            if not password:
                raise InvalidInput(f"environment variable {password_env} is empty or not set.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Again: "):
                raise InvalidInput("the two passwords differ.", hint="type the same password twice")
        store = open_store(project)
        try:
            user = accounts.add_user(
                store, username, password, role=role, display_name=display_name, actor="cli"
            )
        finally:
            store.dispose()
        typer.echo(f"added {user.username} ({user.role})")

    @users_app.command("list")
    def users_list(project: ProjectOpt = DEFAULT_PROJECT) -> None:
        """List users and their roles."""
        from simap.store import accounts, open_store

        store = open_store(project)
        try:
            for u in accounts.list_users(store):
                state = "" if u.active else "  (removed)"
                typer.echo(f"{u.username:<20} {u.role:<8} {u.display_name}{state}")
        finally:
            store.dispose()

    @users_app.command("remove")
    def users_remove(username: str, project: ProjectOpt = DEFAULT_PROJECT) -> None:
        """Remove a user: they can no longer log in; their decisions stay attributable."""
        from simap.store import accounts, open_store

        store = open_store(project)
        try:
            accounts.remove_user(store, username, actor="cli")
        finally:
            store.dispose()
        typer.echo(f"removed {username}")
