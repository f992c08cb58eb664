"""`simap users add|list|remove` and `simap serve --help`."""

from __future__ import annotations

from typer.testing import CliRunner

from simap.cli import app


def test_users_commands(tmp_path, monkeypatch) -> None:
    project = str(tmp_path / "p.db")
    runner = CliRunner()
    monkeypatch.setenv("PW", "a long password")
    r = runner.invoke(app, ["users", "add", "ada", "-p", project, "--role", "admin", "--password-env", "PW"])
    assert r.exit_code == 0, r.output
    assert "added ada (admin)" in r.output
    runner.invoke(app, ["users", "add", "ana", "-p", project, "--password-env", "PW"])
    r = runner.invoke(app, ["users", "list", "-p", project])
    assert "ada" in r.output and "admin" in r.output and "ana" in r.output and "analyst" in r.output
    r = runner.invoke(app, ["users", "remove", "ana", "-p", project])
    assert r.exit_code == 0 and "removed ana" in r.output
    assert "(removed)" in runner.invoke(app, ["users", "list", "-p", project]).output


def test_serve_is_registered() -> None:
    r = CliRunner().invoke(app, ["serve", "--help"])
    assert r.exit_code == 0 and "--port" in r.output and "workbench" in r.output
