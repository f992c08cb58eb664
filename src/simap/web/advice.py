"""Advice in the workbench: the intake questionnaire, diagnosis and portfolio pages and API.

Thin shell over :mod:`simap.advise`; one :class:`Advisor` per app keeps the map index and the
fitted coder between requests (rebuilt when the project is re-coded).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from simap.advise import Advisor, portfolio, questionnaire, render
from simap.advise.models import Diagnosis, PortfolioReport
from simap.errors import InvalidInput
from simap.store.accounts import Account
from simap.web.auth import require
from simap.web.common import render as render_page
from simap.web.deps import store_of

pages = APIRouter(include_in_schema=False)
CONTEXT_IDS = ("name", "countries", "sectors", "description")
api = APIRouter(prefix="/api", tags=["advice"])
Viewer = Annotated[Account, Depends(require("viewer"))]


def advisor_of(request: Request) -> Advisor:
    """The app's Advisor, rebuilt when a newer coding run exists."""
    from sqlalchemy import func, select

    from simap.pipeline import Project
    from simap.store.schema import Run

    store = store_of(request)
    with store.engine.connect() as conn:
        latest = conn.execute(
            select(func.max(Run.id)).where(Run.kind == "code", Run.status == "done")
        ).scalar()
    cached = getattr(request.app.state, "advisor", None)
    if cached is None or cached[0] != latest:
        cached = (latest, Advisor(Project(store)))
        request.app.state.advisor = cached
    return cached[1]  # type: ignore[no-any-return]


def answers_from_form(form: Any) -> dict[str, Any]:
    """Questionnaire answers from form fields ``q_<question id>`` (empty answers are left out)."""
    answers: dict[str, Any] = {}
    for q in questionnaire().questions:
        key = f"q_{q.id}"
        if q.type == "multi":
            values = [v for v in form.getlist(key) if v]
            if values:
                answers[q.id] = values
            continue
        value = str(form.get(key) or "").strip()
        if not value:
            continue
        if q.type == "scale":
            try:
                answers[q.id] = int(value)
            except ValueError:
                raise InvalidInput(
                    f"answer to {q.id!r} must be a whole number; got {value!r}.",
                    field=q.id,
                    hint=f"pick a value from {q.min} to {q.max}",
                ) from None
        elif q.type == "list":  # one per line or comma-separated
            answers[q.id] = [part.strip() for part in value.replace(",", "\n").splitlines() if part.strip()]
        else:
            answers[q.id] = value
    return answers


# -- pages -------------------------------------------------------------------------------------------
@pages.get("/diagnose")
def diagnose_page(request: Request, account: Viewer) -> Response:
    return render_page(request, "diagnose.html", {"form": questionnaire(), "answers": {}})


@pages.post("/diagnose")
async def diagnose_submit(request: Request, account: Viewer) -> Response:
    form = await request.form()
    # the "About your venture" questions (q_name, q_countries, ...); the older plain fields too
    text = str(form.get("text") or "").strip() or None
    answers = answers_from_form(form)
    context = {k: v for k, v in answers.items() if k in CONTEXT_IDS}
    if not text and not set(answers) - {"name", "countries", "sectors"}:
        return render_page(
            request,
            "diagnose.html",
            {
                "form": questionnaire(),
                "answers": answers,
                "error": "Describe the venture or answer some questions (your answers are kept).",
            },
            status_code=400,
        )
    countries = [c.strip() for c in str(form.get("country") or "").split(",") if c.strip()]
    sectors = [s.strip() for s in str(form.get("sector") or "").split(",") if s.strip()]
    diagnosis = advisor_of(request).diagnose(
        text,
        answers or None,
        name=str(form.get("name") or "") or context.get("name") or None,
        countries=countries or context.get("countries") or None,
        sectors=sectors or context.get("sectors") or None,
    )
    return HTMLResponse(render(diagnosis, "html"))


@pages.get("/portfolio")
def portfolio_page(request: Request, account: Viewer) -> Response:
    return render_page(request, "portfolio.html", {})


@pages.post("/portfolio")
async def portfolio_submit(request: Request, account: Viewer) -> Response:
    form = await request.form()
    ids = [i.strip() for i in str(form.get("ids") or "").replace(",", "\n").splitlines() if i.strip()]
    upload = form.get("file")
    if upload is not None and hasattr(upload, "read"):
        content = (await upload.read()).decode("utf-8", "replace")
        ids += [line.split(",")[0].strip() for line in content.splitlines() if line.strip()]
    if not ids:
        return render_page(
            request, "portfolio.html", {"error": "List the portfolio's venture ids."}, status_code=400
        )
    from simap.pipeline import Project

    report = portfolio(Project(store_of(request)), ids)
    return HTMLResponse(render(report, "html"))


# -- API ---------------------------------------------------------------------------------------------
class DiagnoseIn(BaseModel):
    text: str | None = Field(None, description="The venture's description.")
    answers: dict[str, Any] | None = Field(None, description="Questionnaire answers by question id.")
    name: str | None = None
    countries: list[str] | None = None
    sectors: list[str] | None = None


class PortfolioIn(BaseModel):
    ids: list[str] = Field(min_length=1, description="The funder's venture ids.")


@api.get("/questionnaire", summary="The intake questionnaire (sections, questions, options)")
def questionnaire_api(account: Viewer) -> dict[str, Any]:
    return questionnaire().model_dump(mode="json", by_alias=True)


@api.post("/diagnose", summary="Diagnose a venture: codes with evidence, principles, peers, solutions")
def diagnose_api(request: Request, account: Viewer, body: DiagnoseIn) -> Diagnosis:
    if not (body.text or body.answers):
        raise InvalidInput(
            "give 'text' or 'answers' (or both); got neither.",
            field="text",
            hint="send the venture's description or its questionnaire answers",
        )
    return advisor_of(request).diagnose(
        body.text, body.answers, name=body.name, countries=body.countries, sectors=body.sectors
    )


@api.post("/portfolio", summary="A funder's portfolio against the landscape (opportunity report)")
def portfolio_api(request: Request, account: Viewer, body: PortfolioIn) -> PortfolioReport:
    from simap.pipeline import Project

    return portfolio(Project(store_of(request)), body.ids)
