"""First run and the missing pages (issue 12, item 7), in headless chromium: a project without
users shows "create the first admin" (and the exact command) instead of a log-in that fails; the
API tokens page is in the menu; a Discover page finds themes and promotes one to the codebook;
the diagnose form has its "About your venture" fields and keeps the answers given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD
from tests.web.test_web_browser import browser, log_in, server  # noqa: F401

from simap.demo import VENTURES_PATH

SHOTS = Path("/tmp/web12")


@pytest.fixture
def app(tmp_path: Path) -> Any:
    """The demo corpus, coded with the fake embedder, and no users at all."""
    from simap.pipeline import Project
    from simap.web.app import create_app
    from simap.web.settings import Settings

    proj = Project.open(tmp_path / "first.db")
    proj.import_path(Path(str(VENTURES_PATH)))
    proj.code(embedder="fake")
    settings = Settings(
        project=proj.store.url, secret_key="test-secret", upload_dir=tmp_path / "uploads", embedder="fake"
    )
    return create_app(settings, store=proj.store)


def test_setup_only_while_there_are_no_users(app: Any) -> None:
    from fastapi.testclient import TestClient
    from tests.web.conftest import csrf_of

    with TestClient(app, follow_redirects=False) as http:
        assert http.get("/login").headers["location"] == "/setup"
        page = http.get("/setup")
        assert "Create the first admin" in page.text and "simap users add NAME --role admin" in page.text
        token = csrf_of(page.text)
        form = {"username": "root", "password": PASSWORD, "password2": PASSWORD, "csrf_token": token}
        assert http.post("/setup", data={**form, "csrf_token": "x"}).status_code == 403  # CSRF
        assert http.post("/setup", data={**form, "password2": "other"}).status_code == 400
        created = http.post("/setup", data=form)
        assert created.status_code == 303 and http.get("/").status_code == 200  # logged in
    with TestClient(app, follow_redirects=False) as other:
        assert other.get("/setup").headers["location"] == "/login"  # once only
        token = csrf_of(other.get("/login").text)
        again = other.post("/setup", data={**form, "username": "evil", "csrf_token": token})
        assert again.status_code == 403
    from simap.store import accounts

    assert [(u.username, u.role) for u in accounts.list_users(app.state.store)] == [("root", "admin")]


@pytest.mark.browser
@pytest.mark.slow
def test_first_run_tokens_discover_and_diagnose(server: str, browser: Any) -> None:  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{server}/")
    page.wait_for_selector("#setup")
    assert "simap users add" in page.inner_text("#setup-command")
    page.screenshot(path=str(SHOTS / "setup.png"))
    page.fill("input[name=username]", "root")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{server}/")
    # API tokens in the menu
    page.click("nav >> text=API tokens")
    page.wait_for_url(f"{server}/tokens")
    # discovery: run, see themes with examples, promote one
    page.click("nav >> text=Discover")
    page.wait_for_url(f"{server}/discover")
    page.fill("input[name=min_ventures]", "2")
    page.fill("input[name=max_score]", "0.9")  # the fake embedder explains almost every sentence
    page.click("#discover-run button")
    page.wait_for_url("**/jobs/*")
    page.wait_for_selector("#job[data-state=done]", timeout=120_000)
    page.click("text=See the themes")
    page.wait_for_selector("section.theme")
    assert page.locator("section.theme .quotes li").count() >= 1
    page.screenshot(path=str(SHOTS / "discover.png"), full_page=True)
    page.locator("section.theme input[name=theme]").first.check()
    page.click("#promote button.primary")
    page.wait_for_url("**/codebook*")
    assert page.locator("details.code-def.kind-o, details.code-def").filter(has_text="emerging").count() >= 1
    # diagnose: the "About your venture" fields, and the answers kept when the form comes back
    page.click("nav >> text=Diagnose")
    about = page.locator("#section-context")
    assert about.locator("input[name=q_name]").count() == 1
    assert about.locator("input[name=q_countries]").count() == 1
    assert about.locator("textarea[name=q_description]").count() == 1
    page.fill("input[name=q_name]", "Water Watch")
    page.fill("input[name=q_countries]", "Kenya, Uganda")
    page.click("form.diagnose button[type=submit]")
    page.wait_for_selector("p.error")
    assert page.input_value("input[name=q_name]") == "Water Watch"
    assert page.input_value("input[name=q_countries]") == "Kenya, Uganda"
    page.screenshot(path=str(SHOTS / "diagnose-kept.png"), full_page=True)
    page.fill(
        "textarea[name=q_description]", "Citizens report broken water points by SMS for district officials."
    )
    page.click("form.diagnose button[type=submit]")
    page.wait_for_load_state("load")
    assert "Water Watch" in page.content()


def test_the_setup_command_never_shows_a_database_password() -> None:
    from simap.web.pages import shown_project

    assert shown_project("simap-project.db") == "simap-project.db"
    assert shown_project("sqlite:////srv/p.db") == "/srv/p.db"
    shown = shown_project("postgresql+psycopg://simap:s3cret@db:5432/simap")
    assert "s3cret" not in shown and "db:5432/simap" in shown
