"""Countries of ventures: names and codes normalised to ISO 3166 with pycountry, UN M49 regions.

``normalise_country("Tanzania")`` gives a :class:`Country` (alpha-2, alpha-3, short name, region,
sub-region) or ``None`` when the text names no country. Lookup order: the alias table (common
names pycountry does not know, e.g. "USA", "Palestine State", "Ivory Coast"), pycountry's exact
lookup (codes, names, official and common names), then a fuzzy match of the name (difflib, cutoff
0.8) for misspellings. Unknown names are reported by :func:`country_table`, never dropped.

A venture may name several countries (``metadata["countries"]``, as the DPG reader stores them);
every country counts, and the first one is its ``primary`` country.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd
import pycountry

from simap.maps._m49 import region_table

UNKNOWN = "(unknown)"
NOT_GIVEN = "(not given)"
COUNTRY_COLUMNS = ["venture_id", "raw", "alpha2", "alpha3", "country", "region", "subregion", "primary"]

ALIASES: dict[str, str] = {
    "usa": "USA",
    "us": "USA",
    "u s": "USA",
    "u s a": "USA",
    "united states": "USA",
    "america": "USA",
    "uk": "GBR",
    "u k": "GBR",
    "great britain": "GBR",
    "britain": "GBR",
    "england": "GBR",
    "scotland": "GBR",
    "wales": "GBR",
    "northern ireland": "GBR",
    "tanzania": "TZA",
    "palestine": "PSE",
    "palestine state": "PSE",
    "state of palestine": "PSE",
    "gaza": "PSE",
    "west bank": "PSE",
    "ivory coast": "CIV",
    "cote d ivoire": "CIV",
    "russia": "RUS",
    "south korea": "KOR",
    "korea": "KOR",
    "republic of korea": "KOR",
    "north korea": "PRK",
    "iran": "IRN",
    "syria": "SYR",
    "laos": "LAO",
    "vietnam": "VNM",
    "viet nam": "VNM",
    "bolivia": "BOL",
    "venezuela": "VEN",
    "moldova": "MDA",
    "macedonia": "MKD",
    "north macedonia": "MKD",
    "czech republic": "CZE",
    "czechia": "CZE",
    "turkey": "TUR",
    "turkiye": "TUR",
    "burma": "MMR",
    "swaziland": "SWZ",
    "eswatini": "SWZ",
    "cape verde": "CPV",
    "east timor": "TLS",
    "timor leste": "TLS",
    "drc": "COD",
    "dr congo": "COD",
    "democratic republic of congo": "COD",
    "democratic republic of the congo": "COD",
    "congo kinshasa": "COD",
    "congo brazzaville": "COG",
    "republic of the congo": "COG",
    "congo": "COG",
    "the gambia": "GMB",
    "gambia": "GMB",
    "micronesia": "FSM",
    "taiwan": "TWN",
    "hong kong": "HKG",
    "macau": "MAC",
    "vatican": "VAT",
    "holy see": "VAT",
    "brunei": "BRN",
    "uae": "ARE",
    "emirates": "ARE",
    "kosovo": "XKX",
    "the netherlands": "NLD",
    "holland": "NLD",
    "the philippines": "PHL",
    "st lucia": "LCA",
    "st kitts and nevis": "KNA",
    "st vincent and the grenadines": "VCT",
    "sao tome": "STP",
    "bahamas": "BHS",
    "the bahamas": "BHS",
    "caribbean netherlands": "BES",
    "global": "",
    "worldwide": "",
    "international": "",
}
"""Normalised text (see :func:`_key`) -> alpha-3; "" marks a known non-country (e.g. "Global")."""

_EXTRA = {"XKX": ("XK", "Kosovo")}
_DISPLAY = {
    "COD": "DR Congo",
    "COG": "Congo",
    "PSE": "Palestine",
    "FSM": "Micronesia",
    "VAT": "Holy See",
    "MAF": "Saint Martin",
    "SXM": "Sint Maarten",
    "BES": "Caribbean Netherlands",
    "GBR": "United Kingdom",
}


@dataclass(frozen=True)
class Country:
    alpha2: str
    alpha3: str
    name: str
    region: str
    subregion: str


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    text = re.sub(r"\(.*?\)", " ", text)
    return " ".join(re.sub(r"[^a-z]+", " ", text).split())


def _country(alpha3: str) -> Country:
    region, subregion = region_table().get(alpha3, (UNKNOWN, UNKNOWN))
    if alpha3 in _EXTRA:
        alpha2, name = _EXTRA[alpha3]
    else:
        rec: Any = pycountry.countries.get(alpha_3=alpha3)
        alpha2 = rec.alpha_2
        name = _DISPLAY.get(alpha3) or getattr(rec, "common_name", None) or rec.name
    return Country(alpha2, alpha3, str(name), region, subregion)


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    """Normalised name -> alpha-3 over every pycountry name, official and common name."""
    out: dict[str, str] = {}
    for rec in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(rec, attr, None)
            if value:
                out.setdefault(_key(str(value)), rec.alpha_3)
    return out


@lru_cache(maxsize=4096)
def normalise_country(text: str) -> Country | None:
    """The country ``text`` names (a name, alias, alpha-2/alpha-3 code), or ``None``."""
    raw = str(text).strip()
    if not raw:
        return None
    key = _key(raw)
    if key in ALIASES:
        return _country(ALIASES[key]) if ALIASES[key] else None
    if len(raw) in (2, 3) and raw.isalpha():
        found: Any = (
            pycountry.countries.get(alpha_2=raw.upper())
            if len(raw) == 2
            else pycountry.countries.get(alpha_3=raw.upper())
        )
        if found is not None:
            return _country(found.alpha_3)
    names = _names()
    if key in names:
        return _country(names[key])
    try:
        return _country(pycountry.countries.lookup(raw).alpha_3)
    except LookupError:
        pass
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.8)
    return _country(names[close[0]]) if close else None


def is_non_country(text: str) -> bool:
    """True for texts that are known not to be a country ("Global", "Worldwide")."""
    return ALIASES.get(_key(str(text))) == ""


def _as_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return _as_list(json.loads(text))
            except json.JSONDecodeError:
                pass
        return [p.strip() for p in re.split(r"[;|]", text) if p.strip()]
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            if isinstance(item, dict):
                item = item.get("name")
            if item is not None and str(item).strip():
                out.append(str(item).strip())
        return out
    return [str(value)]


def venture_countries(row: dict[str, Any]) -> list[str]:
    """Raw country names of one VENTURES row: ``metadata["countries"]`` if given, else ``country``."""
    meta = row.get("metadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except json.JSONDecodeError:
            meta = None
    names = _as_list(meta.get("countries")) if isinstance(meta, dict) else []
    primary = _as_list(row.get("country"))
    return list(dict.fromkeys([*primary[:1], *names] if names else primary))


def country_table(ventures: pd.DataFrame) -> pd.DataFrame:
    """One row per venture x named country (COUNTRY_COLUMNS); ventures without a country get one
    row with ``country == NOT_GIVEN``; names that match no country keep ``raw`` with
    ``country == UNKNOWN`` (see :func:`unknown_countries`). Non-countries ("Global") are skipped."""
    rows: list[dict[str, Any]] = []
    for rec in ventures.to_dict("records"):
        vid = str(rec["id"])
        seen: set[str] = set()
        first = True
        for raw in venture_countries(rec):
            if is_non_country(raw):
                continue
            found = normalise_country(raw)
            if found is None:
                rows.append(
                    dict(
                        zip(
                            COUNTRY_COLUMNS,
                            [vid, raw, None, None, UNKNOWN, UNKNOWN, UNKNOWN, first],
                            strict=True,
                        )
                    )
                )
            elif found.alpha3 not in seen:
                seen.add(found.alpha3)
                values = [
                    vid,
                    raw,
                    found.alpha2,
                    found.alpha3,
                    found.name,
                    found.region,
                    found.subregion,
                    first,
                ]
                rows.append(dict(zip(COUNTRY_COLUMNS, values, strict=True)))
            else:
                continue
            first = False
        if first:
            rows.append(
                dict(
                    zip(
                        COUNTRY_COLUMNS,
                        [vid, None, None, None, NOT_GIVEN, NOT_GIVEN, NOT_GIVEN, True],
                        strict=True,
                    )
                )
            )
    return pd.DataFrame(rows, columns=COUNTRY_COLUMNS)


def unknown_countries(countries: pd.DataFrame) -> pd.DataFrame:
    """Raw names that matched no country, with how many ventures give each (most first)."""
    bad = countries[countries["country"] == UNKNOWN]
    if bad.empty:
        return pd.DataFrame(columns=["raw", "ventures"])
    counts = bad.groupby("raw")["venture_id"].nunique().rename("ventures").reset_index()
    return counts.sort_values(["ventures", "raw"], ascending=[False, True], kind="stable").reset_index(
        drop=True
    )


def country_coverage(countries: pd.DataFrame) -> dict[str, Any]:
    """How complete the country data of a :func:`country_table` is: ventures, how many name no
    country (and their share), how many name several (each counts in every country it names)."""
    if countries.empty:
        return {"ventures": 0, "without_country": 0, "share_without": 0.0, "multi_country": 0}
    per = countries[countries["country"] != NOT_GIVEN].groupby("venture_id")["country"].nunique()
    n = int(countries["venture_id"].nunique())
    without = n - len(per)
    return {
        "ventures": n,
        "without_country": without,
        "share_without": without / n if n else 0.0,
        "multi_country": int((per > 1).sum()),
    }


_POPULATION_FALLBACK = {"PSE": 5_200_000, "XKX": 1_800_000}


@lru_cache(maxsize=1)
def populations() -> dict[str, int]:
    """alpha-3 -> population, from the country files the ``countryinfo`` package ships (offline;
    its figures are from about 2017, enough to tell a country from a small territory). Territories
    it has no figure for are absent (treated as 0)."""
    from importlib import resources

    out = dict(_POPULATION_FALLBACK)
    try:
        folder = resources.files("countryinfo") / "data"
    except ModuleNotFoundError:  # pragma: no cover - countryinfo is a dependency
        return out
    for item in folder.iterdir():
        if not item.name.endswith(".json"):
            continue
        data = json.loads(item.read_text(encoding="utf-8"))
        iso = (data.get("ISO") or {}).get("alpha3")
        pop = data.get("population")
        if iso and isinstance(pop, int | float) and pop > 0:
            out.setdefault(str(iso), int(pop))
    return out


def population(name: str) -> int:
    """Population of the country ``name`` names (0 when unknown or not a country)."""
    found = normalise_country(name)
    return populations().get(found.alpha3, 0) if found is not None else 0


__all__ = [
    "ALIASES",
    "COUNTRY_COLUMNS",
    "NOT_GIVEN",
    "UNKNOWN",
    "Country",
    "country_coverage",
    "country_table",
    "is_non_country",
    "normalise_country",
    "population",
    "populations",
    "unknown_countries",
    "venture_countries",
]
