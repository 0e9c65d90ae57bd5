"""Distances on the Earth and map links."""

from __future__ import annotations

import math

__all__ = ["EARTH_RADIUS_KM", "haversine_km", "openstreetmap_url"]

# Mean Earth radius (IUGG), in kilometres.
EARTH_RADIUS_KM = 6371.0088


def haversine_km(latitude1: float, longitude1: float, latitude2: float, longitude2: float) -> float:
    """Return the great-circle distance in km between two WGS84 points (degrees)."""
    phi1 = math.radians(latitude1)
    phi2 = math.radians(latitude2)
    delta_phi = phi2 - phi1
    delta_lambda = math.radians(longitude2 - longitude1)
    a = math.sin(delta_phi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(delta_lambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def openstreetmap_url(latitude: float, longitude: float, zoom: int = 15) -> str:
    """Return an openstreetmap.org link with a marker on the point."""
    lat = f"{latitude:.5f}"
    lon = f"{longitude:.5f}"
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map={zoom}/{lat}/{lon}"
