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

    def __init__(self, csr: csr_matrix) -> None:
        n = csr.shape[0]
        coo = csr.tocoo()
        fwd = {(int(u), int(v)): float(w) for u, v, w in zip(coo.row, coo.col, coo.data,
                                                              strict=True)}
        nbrs: list[set[int]] = [set() for _ in range(n)]
        for u, v in fwd:
            nbrs[u].add(v)
            nbrs[v].add(u)
        core = np.array([len(s) != 2 for s in nbrs], dtype=bool)
        self.chain_of = np.full(n, -1, dtype=np.int64)
        self.pos_of = np.full(n, -1, dtype=np.int64)
        nodes: list[list[int]] = []
        seen_first: set[tuple[int, int]] = set()

        def walk(start: int, nxt: int) -> None:
            if (start, nxt) in seen_first:
                return
            path = [start, nxt]
            while not core[path[-1]]:
                a, b = nbrs[path[-1]]
                step = b if a == path[-2] else a
                if step == path[-2]:  # both neighbours the same node: cannot happen (sets)
                    break
                path.append(step)
                if step == start and not core[step]:  # a ring without junctions
                    break
            seen_first.add((start, nxt))
            seen_first.add((path[-1], path[-2]))
            cid = len(nodes)
            nodes.append(path)
            for k, node in enumerate(path[1:-1], start=1):
                self.chain_of[node], self.pos_of[node] = cid, k

        for c in np.flatnonzero(core).tolist():
            for nb in sorted(nbrs[c]):
                walk(c, nb)
        for v in range(n):  # rings with no junction: make one of their nodes core
            if not core[v] and self.chain_of[v] == -1 and nbrs[v]:
                core[v] = True
                for nb in sorted(nbrs[v]):
                    walk(v, nb)
        self.core = core
        self.nodes = [np.asarray(p, dtype=np.int64) for p in nodes]
        # per chain: cumulative forward/backward weight (missing edges count 0) and misses
        self.cum_f: list[npt.NDArray[np.float64]] = []
        self.cum_b: list[npt.NDArray[np.float64]] = []
        self.miss_f: list[IntArray] = []
        self.miss_b: list[IntArray] = []
        for path in nodes:
            wf = [fwd.get((a, b)) for a, b in zip(path[:-1], path[1:], strict=True)]
            wb = [fwd.get((b, a)) for a, b in zip(path[:-1], path[1:], strict=True)]
            self.cum_f.append(np.concatenate([[0.0], np.cumsum([w or 0.0 for w in wf])]))
            self.cum_b.append(np.concatenate([[0.0], np.cumsum([w or 0.0 for w in wb])]))
            self.miss_f.append(np.concatenate([[0], np.cumsum([w is None for w in wf])]))
            self.miss_b.append(np.concatenate([[0], np.cumsum([w is None for w in wb])]))
        # the chains as whole edges, for the chains no point splits
        tails, heads, weights, owner = [], [], [], []
        for cid, path in enumerate(nodes):
            for t, h, w in self._segments(cid, [0, len(path) - 1]):
                tails.append(t)
                heads.append(h)
                weights.append(w)
                owner.append(cid)
        self.base_t = np.asarray(tails, dtype=np.int64)
        self.base_h = np.asarray(heads, dtype=np.int64)
        self.base_w = np.asarray(weights, dtype=np.float64)
        self.base_chain = np.asarray(owner, dtype=np.int64)
        self.n = n

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
        used = np.unique(np.concatenate([t, h, points]))
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
