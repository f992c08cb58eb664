"""Advice: diagnostics for entrepreneurs and opportunity reports for grantmakers.

* :func:`diagnose` a venture (description and/or questionnaire answers) against a coded map:
  its codes with evidence, the principles peers use against the same barriers, peers in other
  contexts, consulting solutions (:class:`Diagnosis`); :class:`Advisor` keeps the map between calls.
* :func:`portfolio`: a funder's ventures against the landscape (:class:`PortfolioReport`).
* :func:`questionnaire` / :func:`score_answers`: the intake questionnaire and its scoring.
* :func:`solutions`: the consulting solutions of the codebook.
* :func:`write_brief` / :func:`render`: HTML, Markdown and PDF briefs.
"""

from simap.advise.diagnose import Advisor, diagnose
from simap.advise.models import CodeEvidence, Diagnosis, Evidence, PortfolioReport
from simap.advise.portfolio import portfolio
from simap.advise.questionnaire import answers_template, load_answers, questionnaire, score_answers
from simap.advise.render import render, write_brief
from simap.advise.solutions import solutions

__all__ = [
    "Advisor",
    "CodeEvidence",
    "Diagnosis",
    "Evidence",
    "PortfolioReport",
    "answers_template",
    "diagnose",
    "load_answers",
    "portfolio",
    "questionnaire",
    "render",
    "score_answers",
    "solutions",
    "write_brief",
]
