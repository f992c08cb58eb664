"""Review: human decisions on machine suggestions, and agreement between coders."""

from simap.review.agreement import AgreementReport, compare, load_gold

__all__ = ["AgreementReport", "compare", "load_gold"]
