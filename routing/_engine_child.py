"""PyVRP in a child process: reads (day, deadline, seed) as a pickle from the file named
by its first argument, writes ("ok", routes) or ("error", text) as a pickle on stdout.

Run as a file by ``routing.search.Helper`` (numpy and PyVRP only, no import of the
``routing`` package, so it starts quickly); also imported by ``routing.search`` to run
PyVRP in-process. The parent is our own process: the pickles are trusted.
"""

from __future__ import annotations

import pickle
import sys
import time
from typing import Any


def solve(day: dict[str, Any], seconds: float, seed: int,
          deadline: float | None = None) -> list[list[int]]:
    """Routes per vehicle as visit positions (0-based), from PyVRP's iterated local search.

    ``day`` is ``routing.search.EngineDay`` as a dict (see there for the fields); with a
    ``deadline`` (``time.time()``) the search ends just before it instead of after
    ``seconds``."""
    import pyvrp

    n_depots = len(day["xy"]) - len(day["service"])
    locations = [pyvrp.Location(x=float(x), y=float(y)) for x, y in day["xy"]]
    depots = [pyvrp.Depot(location=i) for i in range(n_depots)]
    demand = day["demand"] or (1,) * len(day["service"])
    clients = [pyvrp.Client(location=n_depots + j, delivery=[q], service_duration=s,
                            tw_early=w[0], tw_late=w[1], prize=p, required=r)
               for j, (s, w, p, r, q) in enumerate(zip(
                   day["service"], day["windows"], day["prizes"], day["required"], demand,
                   strict=True))]
    # Identical vehicles form one type (a Solomon fleet is one type of 25 vehicles).
    kinds: dict[tuple[int, ...], list[int]] = {}
    for v, key in enumerate(zip(day["starts"], day["ends"], (w[0] for w in day["shifts"]),
                                (w[1] for w in day["shifts"]), day["profiles"], day["capacities"],
                                strict=True)):
        kinds.setdefault(tuple(key), []).append(v)
    types = [pyvrp.VehicleType(num_available=len(members), capacity=[cap], start_depot=s,
                               end_depot=e, tw_early=lo, tw_late=hi, profile=prof)
             for (s, e, lo, hi, prof, cap), members in kinds.items()]
    distances: list[Any] = [day["distance"]] * len(day["durations"])
    durations: list[Any] = list(day["durations"])
    data = pyvrp.ProblemData(locations, clients, depots, types, distances, durations)
    # A wall-clock deadline, checked by PyVRP between iterations: MaxRuntime would start
    # counting only once the initial solution is built (seconds on a 1,000-visit day).
    end = deadline - 0.2 if deadline is not None else time.time() + max(0.05, seconds)

    def stop(best_cost: int) -> bool:  # noqa: ARG001 - the StoppingCriterion signature
        return time.time() >= end

    from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
    from pyvrp.search import PerturbationParams

    params = pyvrp.SolveParams(
        ils=IteratedLocalSearchParams(history_length=day.get("history") or 300),
        perturbation=PerturbationParams(1, day.get("perturbations") or 25))
    result = pyvrp.solve(data, stop=stop, seed=seed, collect_stats=False, display=False,
                         params=params)
    out: list[list[int]] = [[] for _ in day["starts"]]
    free = [list(members) for members in kinds.values()]
    for route in result.best.routes():
        out[free[route.vehicle_type()].pop(0)] = [int(a.idx) for a in route if a.is_client()]
    return out


def answer(path: str) -> bytes:
    """The pickled answer to the day in the file at ``path``."""
    with open(path, "rb") as fh:  # written by our parent, private to the user
        day, deadline, seed = pickle.load(fh)  # noqa: S301 - our parent's own file
    try:
        out: tuple[str, Any] = ("ok", solve(day, 0.0, seed, deadline=deadline))
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which carries on
        out = ("error", f"{type(exc).__name__}: {exc}")
    return pickle.dumps(out)


def serve() -> None:
    """A warm helper: PyVRP imported once, then one day per line of stdin (a file path),
    each answer on stdout as 8 bytes of length and the pickle. Ends at end of stdin (the
    parent closed it, or is gone)."""
    import pyvrp  # noqa: F401 - imported now, so a day does not wait for it

    for line in sys.stdin:
        data = answer(line.strip())
        sys.stdout.buffer.write(len(data).to_bytes(8, "little") + data)
        sys.stdout.buffer.flush()


def main() -> None:
    """Child side of ``routing.search.Helper``: one day (``FILE``) or ``--serve``."""
    if sys.argv[1] == "--serve":
        serve()
        return
    sys.stdout.buffer.write(answer(sys.argv[1]))
    sys.stdout.buffer.flush()
    sys.stdout.close()  # the parent reads to end-of-file: answer before tearing down


if __name__ == "__main__":
    main()
