"""A search that keeps improving until the time limit, and a second core that helps.

Measured (ROUTING-NOTES, issue 15): OR-Tools' guided local search stalls after its first
descent on tight-window days; the oversubscribed field day stayed at 78 visits from 0.27 s
to 30 s. Two remedies, both keeping OR-Tools the model of record:

* **OR-Tools' own iterated local search** (``RoutingModel.SolveWithIteratedLocalSearch``).
  Setting ``use_iterated_local_search`` alone does nothing: the default parameters carry no
  ruin strategy, and ``SolveWithParameters`` never runs ILS. Here the ruins are SISR string
  removals (Christiaens & Vanden Berghe), random walks and spatially close routes, one at
  random per iteration; the recreate is local cheapest insertion through the model's own
  filters (every window, break, skill, pin and shift holds); each perturbed plan is
  descended again; the reference plan is accepted by simulated annealing with temperatures
  from the instance's arc costs, the best only when it improves.
* **A second process** (``routing/_engine_child.py``) on the second core running PyVRP
  (a well-kept ILS engine, optional: ``pip install pyvrp``) on the day as far as its
  model can express it (one window per visit, breaks taken out of the shift). Its routes
  are only ever used after ``ReadAssignmentFromRoutes`` has rebuilt them in the OR-Tools
  model with every constraint — the lunch break included — and a descent has finalised
  them; the better of the two plans by the OR-Tools objective wins. Without PyVRP, or on
  days it cannot express, the search simply runs in-process.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pickle
import select
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from ortools.constraint_solver import routing_ils_pb2

from routing import _engine_child


def pyvrp_installed() -> bool:
    """Whether the optional PyVRP engine can be used for the second process."""
    return importlib.util.find_spec("pyvrp") is not None


def configure_ils(search: Any, visits: int) -> None:
    """Turn ``search`` (RoutingSearchParameters) into a ruin-and-recreate ILS.

    Removal sizes follow the SISR paper's defaults (strings up to 10, about 10 visits per
    ruin), capped at a fifth of the visits so small days are not rebuilt from scratch.
    """
    search.use_iterated_local_search = True
    ils = search.iterated_local_search_parameters
    ils.perturbation_strategy = routing_ils_pb2.PerturbationStrategy.RUIN_AND_RECREATE
    ils.improve_perturbed_solution = True
    rr = ils.ruin_recreate_parameters
    del rr.ruin_strategies[:]
    removed = max(2, min(10, visits // 5))
    sisr = rr.ruin_strategies.add().sisr
    sisr.max_removed_sequence_size = removed
    sisr.avg_num_removed_visits = removed
    sisr.bypass_factor = 0.01
    rr.ruin_strategies.add().random_walk.num_removed_visits = removed
    rr.ruin_strategies.add().spatially_close_routes.num_ruined_routes = 2
    rr.ruin_composition_strategy = routing_ils_pb2.RuinCompositionStrategy.RUN_ONE_RANDOMLY
    sa = ils.reference_solution_acceptance_strategy.simulated_annealing
    sa.cooling_schedule_strategy = routing_ils_pb2.CoolingScheduleStrategy.EXPONENTIAL
    sa.automatic_temperatures = True
    ils.best_solution_acceptance_strategy.greedy_descent.SetInParent()


# -- the second process --------------------------------------------------------------------

@dataclass(frozen=True)
class EngineDay:
    """A day as plain arrays for an engine in another process (picklable, no OR-Tools).

    Nodes: ``depots`` first (each rep's start, then each rep's end), then the visits.
    Times in seconds, distances in metres (or any integer unit the caller chose).
    """

    distance: np.ndarray  # node × node
    durations: tuple[np.ndarray, ...]  # one travel-time matrix per profile
    xy: np.ndarray  # node × 2, only used by the engine's neighbourhoods
    starts: tuple[int, ...]  # per vehicle: start depot node
    ends: tuple[int, ...]  # per vehicle: end depot node
    shifts: tuple[tuple[int, int], ...]  # per vehicle: (earliest start, latest end)
    profiles: tuple[int, ...]  # per vehicle: index into ``durations``
    capacities: tuple[int, ...]  # per vehicle: most visits
    service: tuple[int, ...]  # per visit
    windows: tuple[tuple[int, int], ...]  # per visit: (earliest start, latest start)
    prizes: tuple[int, ...]  # per visit: what serving it is worth
    required: tuple[bool, ...]  # per visit
    demand: tuple[int, ...] | None = None  # per visit (None: one each, capacities count visits)
    # Most perturbation moves per ILS iteration (None: PyVRP's default, 25); see
    # ``perturbations``.
    perturbations: int | None = None
    # Late-acceptance history of the engine's ILS (None: PyVRP's default, 300); see
    # ``perturbations``.
    history: int | None = None


def perturbations(visits: int, optional: bool) -> int | None:
    """How hard the engine's ILS kicks a plan each iteration (PyVRP's max_perturbations).

    Measured on the 152-visit oversubscribed field day (all visits optional, 5 reps), 8
    seeds at 2.2 CPU-seconds each: PyVRP's default of up to 25 moves reached 90 visits in
    0 of 8 runs, up to 10 in 6 of 8, up to 5 in 4 of 8. A day that can leave visits out is
    mostly a choice of which visits to keep, and 25 moves on ~90 served visits undo most of
    what the search settled. Kept at the default for days where every visit is required
    (Solomon, measured at 0.9992x PyVRP with it) and growing with the day's size (25 from
    375 visits on), where 25 moves are a small kick again.
    """
    if not optional:
        return None
    return max(10, min(25, visits // 15))


def history(visits: int, optional: bool) -> int | None:
    """How far back the engine's late-acceptance criterion compares (PyVRP's history_length).

    With a history of 300 iterations PyVRP accepts nearly any plan for the first few
    hundred iterations, and a field day under 5 s gets only ~1,000-2,000 of them. Measured
    on the 152-visit field day with up to 10 perturbations, 8 seeds at 2.2 CPU-seconds:
    history 300 served 89.75 visits on average (2 of 8 runs at 89), 100 served 90.38
    (every run 90 or 91, 83.0 km), 50 served 90.0 (one run at 89) in 80.4 km. Same gate as
    ``perturbations``: all-required days keep the default.
    """
    if not optional:
        return None
    return max(100, min(300, visits // 2))


def solve_engine_day(day: EngineDay, seconds: float, seed: int) -> list[list[int]]:
    """Routes per vehicle as visit positions (0-based), from PyVRP's iterated local search."""
    return _engine_child.solve(plain(day), 0.0, seed, deadline=time.time() + seconds)


def plain(day: EngineDay) -> dict[str, Any]:
    """The day as a dict of arrays and tuples: what the child process unpickles without
    importing this package (it starts in a third of the time)."""
    return {f.name: getattr(day, f.name) for f in fields(day)}


_warm_lock = threading.Lock()  # held by the Helper using the kept child
_warm: list[subprocess.Popen[bytes]] = []  # the kept child, at most one


def _spawn(arg: str) -> subprocess.Popen[bytes]:
    """A plain Python child running ``routing/_engine_child.py`` with ``arg`` (a day's
    file, or ``--serve`` for a child that stays and takes days on stdin)."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    child = str(Path(_engine_child.__file__).resolve())
    return subprocess.Popen(  # noqa: S603 - our own interpreter and file
        [sys.executable, "-c", "import runpy, sys; sys.argv = sys.argv[1:]; "
         "runpy.run_path(sys.argv[0], run_name='__main__')", child, arg],
        stdin=subprocess.PIPE if arg == "--serve" else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)


def _live_warm() -> subprocess.Popen[bytes]:
    """The kept child, started when there is none (call with ``_warm_lock`` held)."""
    if not _warm or _warm[0].poll() is not None:
        _drop_warm()
        _warm.append(_spawn("--serve"))
    return _warm[0]


def _drop_warm() -> None:
    """End the kept child (ours alone, by its own handle)."""
    for proc in _warm:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=5)
    _warm.clear()


def warm_helper() -> bool:
    """Start the kept helper child now, so that it imports PyVRP while the caller builds
    its model (it costs up to a second on a busy machine). False when it is in use or
    cannot start; a Helper then starts a child of its own."""
    if not pyvrp_installed() or not _warm_lock.acquire(blocking=False):
        return False
    try:
        _live_warm()
        return True
    except OSError:
        return False
    finally:
        _warm_lock.release()


def _forget_after_fork() -> None:
    """A forked process (a job runner's work horse) must not talk to its parent's kept
    child: it starts its own when it needs one."""
    global _warm_lock
    _warm_lock = threading.Lock()
    _warm.clear()


atexit.register(_drop_warm)
os.register_at_fork(after_in_child=_forget_after_fork)


class Helper:
    """PyVRP working on a day in another process until ``deadline`` (``time.time()``).

    A plain Python child running ``routing/_engine_child.py`` (numpy and PyVRP only): the
    day goes to it as a pickle in a private temporary file (so no thread of ours has to
    feed a pipe while OR-Tools holds the interpreter), the answer comes back on stdout.
    Nothing of the caller (its threads, its ``__main__``) is forked or re-imported, so it
    is safe under a web server or a job runner.

    The child is kept between days (:func:`warm_helper`): importing PyVRP took 0.9 s of
    a 5 s limit at load 10, every time. One Helper at a time uses it; another (a second
    thread) starts a child of its own, ended by ``result`` as before. A kept child that
    does not answer in time is ended too (its late answer must not reach the next day).
    """

    def __init__(self, day: EngineDay, deadline: float, seed: int = 0) -> None:
        self.deadline = deadline
        self.error: str | None = None
        self.answered = False
        fd, self.path = tempfile.mkstemp(prefix="geocrm-routing-", suffix=".pickle")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump((plain(day), deadline, seed), fh, protocol=pickle.HIGHEST_PROTOCOL)
        self.warm = _warm_lock.acquire(blocking=False)
        try:
            if self.warm:
                self.process = self._send()
            else:
                self.process = _spawn(self.path)
        except OSError:
            if self.warm:
                _warm_lock.release()
                self.warm = False
            os.unlink(self.path)
            raise

    def _send(self) -> subprocess.Popen[bytes]:
        """The day's file to the kept child (a new one if the old has gone)."""
        for attempt in range(2):
            proc = _live_warm()
            try:
                assert proc.stdin is not None
                proc.stdin.write(self.path.encode() + b"\n")
                proc.stdin.flush()
                return proc
            except BrokenPipeError:
                _drop_warm()
                if attempt:
                    raise
        raise OSError("no helper")  # pragma: no cover - the loop returns or raises

    def _read_warm(self, wait: float) -> bytes:
        """The kept child's next answer (length, then pickle), within ``wait`` seconds."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        end = time.time() + wait
        buf = b""
        while True:
            if len(buf) >= 8 and len(buf) >= 8 + int.from_bytes(buf[:8], "little"):
                self.answered = True
                return buf[8:8 + int.from_bytes(buf[:8], "little")]
            left = end - time.time()
            if left <= 0:
                raise subprocess.TimeoutExpired("helper", wait)
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    return b""
                buf += chunk

    def result(self, grace: float = 2.0) -> list[list[int]] | None:
        """The helper's routes, waiting at most ``grace`` seconds past its deadline."""
        try:
            wait = max(0.0, self.deadline - time.time()) + grace
            if self.warm:
                out = self._read_warm(wait)
            else:
                out, _ = self.process.communicate(timeout=wait)
            if not out:
                self.error = "no output"
                return None
            status, payload = pickle.loads(out)  # noqa: S301 - our own child's answer
            if status == "ok":
                return [list(r) for r in payload]
            self.error = str(payload)
            return None
        except subprocess.TimeoutExpired:
            self.error = "no answer in time"
            return None
        except (pickle.UnpicklingError, EOFError, ValueError) as exc:
            self.error = f"unreadable answer ({exc})"
            return None
        finally:
            self.stop()

    def stop(self) -> None:
        """Done with the child: a kept one that answered stays for the next day, any other
        is ended (ours alone, by its own handle); the day's file is removed."""
        if self.warm:
            if not self.answered:
                _drop_warm()
            self.warm = False
            _warm_lock.release()
        else:
            if self.process.poll() is None:
                self.process.kill()
            self.process.communicate(timeout=5)
        if os.path.exists(self.path):
            os.unlink(self.path)


def planar(lat: Sequence[float], lon: Sequence[float]) -> np.ndarray:
    """Metres east and north of the first point (for an engine's neighbourhood lists)."""
    lat_a, lon_a = np.asarray(lat, float), np.asarray(lon, float)
    if len(lat_a) == 0:
        return np.zeros((0, 2))
    k = 111_195.0
    x = (lon_a - lon_a[0]) * k * np.cos(np.radians(lat_a[0]))
    y = (lat_a - lat_a[0]) * k
    return np.column_stack([x, y])

