from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simap.maps._m49 import region_table
from simap.maps.geo import NOT_GIVEN, UNKNOWN, country_table, normalise_country, unknown_countries


@pytest.mark.parametrize(
    ("text", "alpha3"),
    [
        ("Tanzania", "TZA"),
        ("Palestine State", "PSE"),
        ("USA", "USA"),
        ("United States of America", "USA"),
        ("KE", "KEN"),
        ("ken", "KEN"),
        ("Kenia", "KEN"),
        ("Côte d'Ivoire", "CIV"),
        ("Bolivia (Plurinational State of)", "BOL"),
        ("Niger", "NER"),
        ("Nigeria", "NGA"),
        ("Kosovo", "XKX"),
    ],
)
def test_normalise_country(text: str, alpha3: str) -> None:
    found = normalise_country(text)
    assert found is not None and found.alpha3 == alpha3


def test_regions_are_m49() -> None:
    kenya = normalise_country("Kenya")
    assert kenya is not None and (kenya.region, kenya.subregion) == ("Africa", "Sub-Saharan Africa")
    assert region_table()["MEX"] == ("Americas", "Latin America and the Caribbean")
    assert len(region_table()) >= 249


def test_unknown_names_are_reported_not_dropped() -> None:
    ventures = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "name": ["A", "B", "C"],
            "country": ["Kenya", None, "Narnia"],
            "metadata": [{"countries": ["Kenya", "Tanzania", "Global"]}, {}, {}],
        }
    )
    table = country_table(ventures)
    a = table[table["venture_id"] == "a"]
    assert a["alpha3"].tolist() == ["KEN", "TZA"] and a["primary"].tolist() == [True, False]
    assert table.loc[table["venture_id"] == "b", "country"].tolist() == [NOT_GIVEN]
    assert table.loc[table["venture_id"] == "c", "country"].tolist() == [UNKNOWN]
    assert unknown_countries(table).to_dict("records") == [{"raw": "Narnia", "ventures": 1}]


def test_robinson_projection_known_points() -> None:
    from simap.maps.world import robinson

    x, y = robinson(np.array([0.0, 180.0, 0.0]), np.array([0.0, 0.0, 90.0]))
    assert x[0] == 0 and y[0] == 0
    assert x[1] == pytest.approx(0.8487 * np.pi)
    assert y[2] == pytest.approx(1.3523)
