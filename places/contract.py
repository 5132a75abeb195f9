"""The road graph without its shape points, for fast matrices.

Four in five nodes of an OSM road graph only bend a road (82 % in the Helsinki extract): two
neighbours, no junction. Dijkstra need not visit them. :class:`Chains` cuts the graph into
*chains* — runs of such nodes between two *core* nodes (junctions, dead ends) — and keeps, per
chain, the cumulative packed weight in each direction (see :mod:`places.travel`; a missing
one-way edge is counted apart, so a direction exists only where none is missing).

:meth:`Chains.graph_for` builds, per matrix, the core graph plus the nodes the points snapped
to: a chain holding snapped nodes is split at them, every other chain is one edge per
direction it allows. Paths between any two of those nodes are exactly the full graph's (sums
of the same integers, in float64 below 2**53), so the answer does not change, only the time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix

IntArray = npt.NDArray[np.int64]


class Chains:
    """The chains of a directed graph given as a CSR matrix of packed weights."""

    def __init__(self, csr: csr_matrix, rank: IntArray | None = None) -> None:
        """``rank``: the order to number nodes in per request (default: their index)."""
        n = csr.shape[0]
        self.rank = np.arange(n, dtype=np.int64) if rank is None else np.asarray(rank, np.int64)
        coo = csr.tocoo()
        u, v, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data
        keys = u * n + v
        order = np.argsort(keys)
        self._keys, self._w = keys[order], w[order]
        # undirected neighbours (a road's two directions are one neighbour)
        pairs = np.unique(np.minimum(u, v) * n + np.maximum(u, v))
        pa, pb = pairs // n, pairs % n
        ends = np.concatenate([pa, pb])
        others = np.concatenate([pb, pa])
        by = np.argsort(ends, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(ends, minlength=n))])
        nb = others[by].tolist()
        ptr_l = ptr.tolist()
        core = np.diff(ptr) != 2
        core_l = core.tolist()
        chain_of = [-1] * n
        pos_of = [-1] * n
        nodes: list[list[int]] = []
        seen_first: set[tuple[int, int]] = set()

        def walk(start: int, nxt: int) -> None:
            if (start, nxt) in seen_first:
                return
            path = [start, nxt]
            while not core_l[path[-1]]:
                i = ptr_l[path[-1]]
                a, b = nb[i], nb[i + 1]
                path.append(b if a == path[-2] else a)
            seen_first.add((start, nxt))
            seen_first.add((path[-1], path[-2]))
            cid = len(nodes)
            nodes.append(path)
            for k in range(1, len(path) - 1):
                chain_of[path[k]] = cid
                pos_of[path[k]] = k

        for c in np.flatnonzero(core).tolist():
            for x in nb[ptr_l[c]:ptr_l[c + 1]]:
                walk(c, x)
        for x in range(n):  # rings with no junction: make one of their nodes core
            if not core_l[x] and chain_of[x] == -1 and ptr_l[x + 1] > ptr_l[x]:
                core_l[x] = True
                for y in nb[ptr_l[x]:ptr_l[x + 1]]:
                    walk(x, y)
        self.core = np.asarray(core_l, dtype=bool)
        self.chain_of = np.asarray(chain_of, dtype=np.int64)
        self.pos_of = np.asarray(pos_of, dtype=np.int64)
        self.nodes = [np.asarray(p, dtype=np.int64) for p in nodes]
        # per chain: cumulative forward/backward weight (missing edges count 0) and misses,
        # computed for all chains at once and kept as views into flat arrays
        lengths = np.array([len(p) - 1 for p in nodes], dtype=np.int64)
        flat = np.concatenate(self.nodes) if nodes else np.zeros(0, dtype=np.int64)
        last = np.cumsum(lengths + 1)
        tail_mask = np.ones(len(flat), dtype=bool)
        tail_mask[last - 1] = False  # the last node of each chain starts no edge
        a = flat[tail_mask]
        b = flat[np.roll(tail_mask, 1)]
        wf, mf = self._lookup(a * n + b)
        wb, mb = self._lookup(b * n + a)
        off = np.concatenate([[0], np.cumsum(lengths)])
        self.cum_f: list[npt.NDArray[np.float64]] = []
        self.cum_b: list[npt.NDArray[np.float64]] = []
        self.miss_f: list[IntArray] = []
        self.miss_b: list[IntArray] = []
        for values, miss, cum_out, miss_out in ((wf, mf, self.cum_f, self.miss_f),
                                                 (wb, mb, self.cum_b, self.miss_b)):
            cum = np.concatenate([[0.0], np.cumsum(values)])
            cmiss = np.concatenate([[0], np.cumsum(miss)])
            for c in range(len(nodes)):
                lo, hi = int(off[c]), int(off[c + 1])
                cum_out.append(cum[lo:hi + 1] - cum[lo])
                miss_out.append(cmiss[lo:hi + 1] - cmiss[lo])
        # the chains as whole edges, for the chains no point splits
        tails, heads, weights, owner = [], [], [], []
        for cid, path in enumerate(nodes):
            for t, h, wt in self._segments(cid, [0, len(path) - 1]):
                tails.append(t)
                heads.append(h)
                weights.append(wt)
                owner.append(cid)
        self.base_t = np.asarray(tails, dtype=np.int64)
        self.base_h = np.asarray(heads, dtype=np.int64)
        self.base_w = np.asarray(weights, dtype=np.float64)
        self.base_chain = np.asarray(owner, dtype=np.int64)
        self.n = n

    def _lookup(self, keys: IntArray) -> tuple[npt.NDArray[np.float64], IntArray]:
        """Packed weights of the directed edges ``keys`` (tail * n + head): 0 and a miss
        count of 1 where there is no such edge (a one-way)."""
        at = np.searchsorted(self._keys, keys)
        at = np.minimum(at, max(len(self._keys) - 1, 0))
        found = (self._keys[at] == keys) if len(self._keys) else np.zeros(len(keys), bool)
        return np.where(found, self._w[at] if len(self._w) else 0.0, 0.0), (~found).astype(
            np.int64)

    def _segments(self, cid: int, cuts: list[int]) -> list[tuple[int, int, float]]:
        """Edges between consecutive cut positions of chain ``cid``, each direction allowed."""
        path = self.nodes[cid]
        out = []
        for i, j in zip(cuts[:-1], cuts[1:], strict=True):
            a, b = int(path[i]), int(path[j])
            if a == b:
                continue
            if self.miss_f[cid][j] == self.miss_f[cid][i]:
                out.append((a, b, float(self.cum_f[cid][j] - self.cum_f[cid][i])))
            if self.miss_b[cid][j] == self.miss_b[cid][i]:
                out.append((b, a, float(self.cum_b[cid][j] - self.cum_b[cid][i])))
        return out

    def graph_for(self, points: IntArray) -> tuple[csr_matrix, IntArray]:
        """The core graph with ``points`` (node ids) kept; returns it and each point's index."""
        points = np.asarray(points, dtype=np.int64)
        inner = points[~self.core[points]]
        split = np.unique(self.chain_of[inner])
        keep = ~np.isin(self.base_chain, split)
        tails, heads, weights = [self.base_t[keep]], [self.base_h[keep]], [self.base_w[keep]]
        for cid in split.tolist():
            pos = np.unique(self.pos_of[inner[self.chain_of[inner] == cid]]).tolist()
            seg = self._segments(cid, [0, *pos, len(self.nodes[cid]) - 1])
            tails.append(np.asarray([x[0] for x in seg], dtype=np.int64))
            heads.append(np.asarray([x[1] for x in seg], dtype=np.int64))
            weights.append(np.asarray([x[2] for x in seg], dtype=np.float64))
        t = np.concatenate(tails)
        h = np.concatenate(heads)
        w = np.concatenate(weights)
        alive = _peel_dead_ends(t, h, points, self.n)
        t, h, w = t[alive], h[alive], w[alive]
        used = np.unique(np.concatenate([t, h, points]))
        used = used[np.argsort(self.rank[used], kind="stable")]
        index = np.full(self.n, -1, dtype=np.int64)
        index[used] = np.arange(len(used))
        ti, hi = index[t], index[h]
        # parallel edges (two chains between the same junctions): keep the lightest
        order = np.lexsort((w, hi, ti))
        ti, hi, w = ti[order], hi[order], w[order]
        first = np.ones(len(ti), dtype=bool)
        first[1:] = (ti[1:] != ti[:-1]) | (hi[1:] != hi[:-1])
        m = len(used)
        return csr_matrix((w[first], (ti[first], hi[first])), shape=(m, m)), index[points]


def _peel_dead_ends(t: IntArray, h: IntArray, points: IntArray, n: int) -> npt.NDArray[np.bool_]:
    """Which edges ``t -> h`` stay once dead-end trees without a point are peeled off.

    A node with one neighbour (either direction) that is not a point is dropped with its
    edges, again and again until none is left: what goes are the trees that hang off the rest
    of the network by one node, which no quickest path between two other nodes enters.
    """
    alive = np.ones(len(t), dtype=bool)
    is_point = np.zeros(n, dtype=bool)
    is_point[points] = True
    lo, hi = np.minimum(t, h), np.maximum(t, h)
    while True:
        pairs = np.unique(lo[alive] * n + hi[alive])
        degree = np.bincount(np.concatenate([pairs // n, pairs % n]), minlength=n)
        leaf = (degree == 1) & ~is_point
        if not leaf.any():
            return alive
        alive &= ~(leaf[t] | leaf[h])


def bypass(graph: csr_matrix, points: IntArray, max_neighbours: int = 6,
           rounds: int = 30) -> tuple[csr_matrix, IntArray]:
    """``graph`` with most junctions that are not ``points`` (indices) bypassed by shortcuts;
    returns it and each point's index in it.

    Round after round, a set of junctions with at most ``max_neighbours`` neighbours, no two
    of them neighbours, leaves the graph: each in-edge ``u -> v`` and out-edge ``v -> w`` of a
    leaving ``v`` becomes a shortcut ``u -> w`` of their summed weight, unless a path
    ``u -> x -> w`` through a staying node, or an edge ``u -> w``, weighs no more (a witness).
    Paths between the nodes that stay keep their exact weights (sums of the same integers), so
    matrices do not change; on a city's core graph a spread matrix's Dijkstras settle 2.3 times
    fewer nodes over about as many edges.
    """
    n = graph.shape[0]
    coo = graph.tocoo()
    t, h, w = coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)
    t, h, w = _lightest(t, h, w)
    stays = np.ones(n, dtype=bool)
    is_point = np.zeros(n, dtype=bool)
    is_point[points] = True
    tiebreak = np.random.default_rng(0).permutation(n)
    for _ in range(rounds):
        pairs = np.unique(np.minimum(t, h) * n + np.maximum(t, h))
        pa, pb = pairs // n, pairs % n
        degree = np.bincount(np.concatenate([pa, pb]), minlength=n)
        may = stays & ~is_point & (degree <= max_neighbours)
        if not may.any():
            break
        # of two neighbours that may both leave, the one with more neighbours stays this round
        key = degree * n + tiebreak
        both = may[pa] & may[pb]
        a, b = pa[both], pb[both]
        held = np.zeros(n, dtype=bool)
        held[np.where(key[a] > key[b], a, b)] = True
        leaves = may & ~held
        into = np.flatnonzero(leaves[h])
        into = into[np.argsort(h[into], kind="stable")]
        out = np.flatnonzero(leaves[t])  # already sorted by tail
        fan = np.bincount(t[out], minlength=n)
        start = np.concatenate([[0], np.cumsum(fan)])[:-1]
        rep = fan[h[into]]
        via_in = np.repeat(into, rep)
        offset = np.arange(int(rep.sum())) - np.repeat(np.cumsum(rep) - rep, rep)
        via_out = out[start[h[via_in]] + offset]
        su, sw, sv = t[via_in], h[via_out], w[via_in] + w[via_out]
        new = su != sw
        su, sw, sv = su[new], sw[new], sv[new]
        needed = ~_witnessed(t, h, w, n, leaves, su, sw, sv)
        gone = leaves[t] | leaves[h]
        t, h, w = _lightest(np.concatenate([t[~gone], su[needed]]),
                            np.concatenate([h[~gone], sw[needed]]),
                            np.concatenate([w[~gone], sv[needed]]))
        stays &= ~leaves
    kept = np.flatnonzero(stays)
    index = np.full(n, -1, dtype=np.int64)
    index[kept] = np.arange(len(kept))
    m = len(kept)
    return csr_matrix((w, (index[t], index[h])), shape=(m, m)), index[points]


def _lightest(t: IntArray, h: IntArray, w: npt.NDArray[np.float64]
              ) -> tuple[IntArray, IntArray, npt.NDArray[np.float64]]:
    """The edges sorted by tail then head, the lightest of parallel ones only."""
    order = np.lexsort((w, h, t))
    t, h, w = t[order], h[order], w[order]
    first = np.ones(len(t), dtype=bool)
    first[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
    return t[first], h[first], w[first]


def _witnessed(t: IntArray, h: IntArray, w: npt.NDArray[np.float64], n: int,
               leaves: npt.NDArray[np.bool_], su: IntArray, sw: IntArray,
               sv: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Which shortcuts ``su -> sw`` (weights ``sv``) an edge ``u -> w`` or a path
    ``u -> x -> w`` through a node ``x`` that stays this round makes needless (edges sorted by
    tail then head, one per pair). A node leaving in the same round is no witness: its own
    shortcut could be the one dropped in favour of this one."""
    keys = t * n + h
    last = max(len(keys) - 1, 0)
    ptr = np.concatenate([[0], np.cumsum(np.bincount(t, minlength=n))])
    fan = ptr[su + 1] - ptr[su]
    which = np.repeat(np.arange(len(su)), fan)
    edge = ptr[su[which]] + (np.arange(int(fan.sum())) - np.repeat(np.cumsum(fan) - fan, fan))
    x = h[edge]
    ok = ~leaves[x] & (x != sw[which])
    which, edge, x = which[ok], edge[ok], x[ok]
    best = np.full(len(su), np.inf)
    if len(keys):
        want = x * n + sw[which]
        at = np.minimum(np.searchsorted(keys, want), last)
        np.minimum.at(best, which, np.where(keys[at] == want, w[edge] + w[at], np.inf))
        want = su * n + sw
        at = np.minimum(np.searchsorted(keys, want), last)
        best = np.minimum(best, np.where(keys[at] == want, w[at], np.inf))
    return np.asarray(best <= sv, dtype=bool)
