"""World geometry for offline choropleths: country outlines projected with our own Robinson code.

Outlines come from the ``countryinfo`` package, which ships a simplified Natural Earth-derived
GeoJSON polygon per country (MIT licence) inside its wheel: nothing is downloaded. About 170
countries have polygons; the others (small island states, and a few gaps of that data set such
as Hungary, Serbia, Montenegro and Myanmar) are drawn as a dot at their centre point, which the
package also ships. Antarctica is left out.

:func:`robinson` is the Robinson projection (table of Robinson 1974, linear interpolation),
returning unit coordinates; :func:`world_shapes` gives SVG path data per alpha-3 code at a
given width, cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from simap.errors import BackendUnavailable

_LAT = np.arange(0.0, 91.0, 5.0)
# fmt: off
_X = np.array([1.0, 0.9986, 0.9954, 0.99, 0.9822, 0.973, 0.96, 0.9427, 0.9216, 0.8962,
               0.8679, 0.835, 0.7986, 0.7597, 0.7186, 0.6732, 0.6213, 0.5722, 0.5322])
_Y = np.array([0.0, 0.062, 0.124, 0.186, 0.248, 0.31, 0.372, 0.434, 0.4958, 0.5571,
               0.6176, 0.6769, 0.7346, 0.7903, 0.8435, 0.8936, 0.9394, 0.9761, 1.0])
# fmt: on
NORTH, SOUTH = 84.0, -57.0  # latitude window of the drawn map (Antarctica left out)


def robinson(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Robinson projection of degrees; x in about [-2.67, 2.67], y in [-1.35, 1.35] (north up)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.clip(np.asarray(lat, dtype=float), -90.0, 90.0)
    a = np.abs(lat)
    x = 0.8487 * np.interp(a, _LAT, _X) * np.radians(lon)
    y = 1.3523 * np.interp(a, _LAT, _Y) * np.sign(lat)
    return x, y


@dataclass(frozen=True)
class Shape:
    alpha3: str
    name: str
    path: str  # SVG path data; "" when the country is drawn as a dot
    dot: tuple[float, float] | None


@dataclass(frozen=True)
class World:
    width: float
    height: float
    shapes: dict[str, Shape]


def _package_data() -> Any:
    try:
        return resources.files("countryinfo") / "data"
    except ModuleNotFoundError as exc:
        raise BackendUnavailable(
            "world maps need the country outlines of the 'countryinfo' package, which is not installed.",
            hint="pip install 'simap[maps]' (or: pip install countryinfo)",
        ) from exc


@lru_cache(maxsize=1)
def load_countries() -> dict[str, dict[str, Any]]:
    """alpha-3 -> {"name", "polygons": [[ring (n, 2) lon/lat arrays]], "latlng": (lat, lng) | None}."""
    out: dict[str, dict[str, Any]] = {}
    for item in sorted(_package_data().iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".json"):
            continue
        data = json.loads(item.read_text(encoding="utf-8"))
        iso = (data.get("ISO") or {}).get("alpha3")
        if not iso or iso == "ATA" or iso in out:
            continue
        polygons: list[list[np.ndarray]] = []
        for feature in (data.get("geoJSON") or {}).get("features", []):
            geom = feature.get("geometry") or {}
            parts = geom.get("coordinates") or []
            if geom.get("type") == "Polygon":
                parts = [parts]
            for poly in parts:
                polygons.append([np.asarray(ring, dtype=float)[:, :2] for ring in poly if len(ring) >= 3])
        latlng = data.get("latlng") or None
        out[iso] = {
            "name": str(data.get("name") or iso),
            "polygons": polygons,
            "latlng": (float(latlng[0]), float(latlng[1])) if latlng and len(latlng) == 2 else None,
        }
    return out


def _ring_path(xy: np.ndarray, min_step: float) -> str:
    keep = [0]
    for i in range(1, len(xy)):
        if abs(xy[i, 0] - xy[keep[-1], 0]) + abs(xy[i, 1] - xy[keep[-1], 1]) >= min_step:
            keep.append(i)
    if len(keep) < 3:
        return ""
    pts = xy[keep]
    return "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in pts) + "Z"


@lru_cache(maxsize=4)
def world_shapes(width: int = 960) -> World:
    """Every country projected to an SVG of ``width`` pixels (height follows), cached per width."""
    x0, _ = robinson(np.array([-180.0]), np.array([0.0]))
    _, ytop = robinson(np.array([0.0]), np.array([NORTH]))
    _, ybot = robinson(np.array([0.0]), np.array([SOUTH]))
    scale = width / (2 * abs(float(x0[0])))
    height = (float(ytop[0]) - float(ybot[0])) * scale

    def to_px(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        x, y = robinson(lon, lat)
        return np.column_stack([(x - float(x0[0])) * scale, (float(ytop[0]) - y) * scale])

    shapes: dict[str, Shape] = {}
    for iso, rec in load_countries().items():
        parts = [_ring_path(to_px(ring[:, 0], ring[:, 1]), 0.6) for poly in rec["polygons"] for ring in poly]
        path = "".join(p for p in parts if p)
        dot = None
        if not path and rec["latlng"] is not None:
            lat, lng = rec["latlng"]
            px = to_px(np.array([lng]), np.array([lat]))[0]
            dot = (round(float(px[0]), 1), round(float(px[1]), 1))
        if path or dot:
            shapes[iso] = Shape(iso, rec["name"], path, dot)
    return World(float(width), round(height, 1), shapes)


__all__ = ["NORTH", "SOUTH", "Shape", "World", "load_countries", "robinson", "world_shapes"]
