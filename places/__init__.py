"""A company's region, read from one OpenStreetMap extract: a pure library (no Flask, no database).

* ``read_roads(path) -> RoadGraph`` reads an ``.osm.pbf`` / ``.osm`` once with pyosmium and builds
  the car road graph (one-ways, speeds by class and ``maxspeed``, turn-free);
  ``save_graph`` / ``load_graph`` keep it as one ``.npz`` replaced atomically.
* ``RoadRouter(graph)`` answers many-to-many travel-time matrices (scipy's Dijkstra, points
  snapped to the nearest road with a KD-tree, cached per set of points) and the route lines
  between consecutive stops.
* ``build_basemap(path, target)`` cuts the extract's roads, water, land use, buildings and places
  into a vector basemap (one PMTiles archive, Protomaps schema); ``offline_subset`` copies the
  part of an archive a phone keeps offline, within a size budget.
"""

from places.basemap import build_basemap, offline_subset, read_basemap
from places.roads import (
    RegionError,
    RoadGraph,
    directions,
    drivable,
    load_graph,
    maxspeed_kmh,
    read_roads,
    road_speed_kmh,
    save_graph,
)
from places.travel import Leg, RoadRouter, TravelMatrix

__all__ = [
    "Leg", "RegionError", "RoadGraph", "RoadRouter", "TravelMatrix", "build_basemap", "directions",
    "drivable", "offline_subset", "read_basemap",
    "load_graph", "maxspeed_kmh", "read_roads", "road_speed_kmh", "save_graph",
]
