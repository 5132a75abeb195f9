"""Writing small OpenStreetMap XML files for tests: nodes and ways with tags, escaped."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

Node = tuple[int, float, float, Mapping[str, str]]  # id, lat, lon, tags
Way = tuple[int, Sequence[int], Mapping[str, str]]  # id, node refs, tags
Relation = tuple[int, Sequence[tuple[str, int, str]], Mapping[str, str]]  # id, members, tags


def _tags(tags: Mapping[str, str]) -> list[str]:
    return [f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()]


def write_osm(path: Path, nodes: Iterable[Node], ways: Iterable[Way] = (),
              timestamp: str = "2026-01-01T00:00:00Z",
              relations: Iterable[Relation] = ()) -> Path:
    """An ``.osm`` file with ``nodes``, ``ways`` and ``relations`` (members: type, ref,
    role), version 1, one timestamp."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    stamp = f'version="1" timestamp="{timestamp}"'
    for nid, lat, lon, tags in nodes:
        lines.append(f'  <node id="{nid}" {stamp} lat="{lat:.7f}" lon="{lon:.7f}">')
        lines += _tags(tags)
        lines.append("  </node>")
    for wid, refs, tags in ways:
        lines.append(f'  <way id="{wid}" {stamp}>')
        lines += [f'    <nd ref="{r}"/>' for r in refs]
        lines += _tags(tags)
        lines.append("  </way>")
    for rid, members, tags in relations:
        lines.append(f'  <relation id="{rid}" {stamp}>')
        lines += [f'    <member type="{t}" ref="{r}" role={quoteattr(role)}/>'
                  for t, r, role in members]
        lines += _tags(tags)
        lines.append("  </relation>")
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def square(first_id: int, lat: float, lon: float, half: float = 0.0002) -> list[Node]:
    """Four untagged corner nodes of a small square around (lat, lon)."""
    return [(first_id + k, lat + dy * half, lon + dx * half, {})
            for k, (dx, dy) in enumerate(((-1, -1), (1, -1), (1, 1), (-1, 1)))]
