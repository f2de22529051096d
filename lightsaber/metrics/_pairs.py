"""O(n log n) pair counting for concordance indices, in pure NumPy.

Why this exists (measured need): scikit-survival's ``concordance_index_censored`` and
``concordance_index_ipcw`` compare every event with every later sample — O(n^2), about 1 s at
n = 2e4 and 22 s at n = 1e5 on a 2-core machine — and lifelines' O(n log n) version walks a
tree in a Python loop. Harrell's and Uno's C only need, for every event ``i``, counts over its
*comparable set* (samples whose ordering key is larger, see below) of risks below / within a
tolerance of its own. That is a two-dimensional dominance count, answered here for all events
at once with a *wavelet matrix*: one stable partition of the risk ranks per bit (about
``log2(n)`` vectorised passes), each query walking down the levels in lock-step.

Comparable sets follow scikit-survival exactly. With ``key = 2 * rank(time) + censored``, a
sample ``j`` is comparable to an event ``i`` iff ``key[j] > key[i]``: ``j`` left later, or
left at the same time censored (an event at ``t`` precedes a censoring at ``t``). Sorting the
samples by decreasing key makes every comparable set a prefix.

With entry (left-truncation) times, ``j`` must also be at risk at ``T_i``: ``entry_j < T_i``.
Since ``entry_j < T_j``, a sample entering at or after ``T_i`` left after it, so it is in
``i``'s prefix: the counts over the comparable set are the prefix counts minus the same counts
over the samples with ``entry >= T_i``, themselves a prefix of the samples sorted by decreasing
entry. Integer counts, so the subtraction is exact; still O(n log n).

The same structure answers *weighted* counts: bootstrap replicates are row multiplicities, so
:class:`HarrellIndex` evaluates a thousand replicates without re-sorting anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "HarrellIndex",
    "PreparedPairs",
    "count_less_in_prefix",
    "event_counts",
    "prepare_pairs",
    "weighted_less_in_prefix",
]


def _nbits(n_values: int) -> int:
    # thresholds lie in [0, n_values]; all must be < 2**nbits
    return max(1, int(n_values).bit_length())


def _partition(cur: np.ndarray, zero: np.ndarray) -> np.ndarray:
    return np.concatenate((cur[zero], cur[~zero]))


def _index_dtype(n: int) -> type:
    return np.int32 if n < 2**31 - 1 else np.int64


def count_less_in_prefix(
    values: np.ndarray, n_values: int, ends: np.ndarray, thresholds: np.ndarray
) -> np.ndarray:
    """Count, for every query ``q``, the positions ``p < ends[q]`` with ``values[p] < thr[q]``.

    Parameters
    ----------
    values : numpy.ndarray of int, shape (n,)
        Integer codes in ``[0, n_values)`` in position order.
    n_values : int
        Number of distinct codes.
    ends : numpy.ndarray of int, shape (n_queries,)
        Prefix lengths.
    thresholds : numpy.ndarray of int, shape (n_queries,)
        Strict upper bounds, in ``[0, n_values]``.

    Returns
    -------
    numpy.ndarray of int64, shape (n_queries,)

    Examples
    --------
    >>> count_less_in_prefix(np.array([2, 0, 1, 0]), 3, np.array([4, 2]), np.array([1, 3]))
    array([2, 2])
    """
    n = values.shape[0]
    dt = _index_dtype(2 * (n + 1))
    cur = values.astype(dt)
    thr = np.asarray(thresholds).astype(dt)
    e = np.asarray(ends).astype(dt)
    s = np.zeros_like(e)
    res = np.zeros(e.shape[0], dtype=np.int64)
    # rank maps of one level, side by side: rank among the zeros / among the ones (+ offset)
    width = n + 1
    rank = np.empty(2 * width, dtype=dt)
    rank_zero, rank_one = rank[:width], rank[width:]
    rank_zero[0] = 0
    positions = np.arange(width, dtype=dt)
    nxt = np.empty_like(cur)
    length = e - s
    for level in range(_nbits(n_values) - 1, -1, -1):
        zero = (cur >> level) & 1 == 0
        np.cumsum(zero, out=rank_zero[1:])
        np.subtract(positions, rank_zero, out=rank_one)
        rank_one += rank_zero[-1]
        # follow each threshold's bit: a 1 counts every partner whose bit is 0
        bit = (thr >> level) & 1
        offset = bit * width
        s += offset
        e += offset
        s = np.take(rank, s)
        e = np.take(rank, e)
        new_length = e - s
        length -= new_length  # partners left behind: those with bit 0 when ``bit`` is 1
        length *= bit
        res += length
        length = new_length
        # stable partition (zeros first) of the codes for the next level
        nxt[np.where(zero, rank_zero[:-1], rank_one[:-1])] = cur
        cur, nxt = nxt, cur
    return res


def weighted_less_in_prefix(
    values: np.ndarray, n_values: int, ends: np.ndarray, thresholds: np.ndarray,
    weights: np.ndarray,
) -> np.ndarray:
    """Sum, for every query ``q``, ``weights[p]`` over ``p < ends[q]`` with ``values[p] < thr[q]``.

    The weighted form of :func:`count_less_in_prefix` (the same wavelet-matrix walk, with a
    prefix sum of the weights of the zeros at each level instead of their count).

    Parameters
    ----------
    values : numpy.ndarray of int, shape (n,)
        Integer codes in ``[0, n_values)`` in position order.
    n_values : int
        Number of distinct codes.
    ends : numpy.ndarray of int, shape (n_queries,)
        Prefix lengths.
    thresholds : numpy.ndarray of int, shape (n_queries,)
        Strict upper bounds, in ``[0, n_values]``.
    weights : numpy.ndarray of float, shape (n,)
        Weight of each position.

    Returns
    -------
    numpy.ndarray of float64, shape (n_queries,)

    Examples
    --------
    >>> weighted_less_in_prefix(np.array([2, 0, 1, 0]), 3, np.array([4, 2]), np.array([1, 3]),
    ...                         np.array([1.0, 2.0, 4.0, 8.0])).tolist()
    [10.0, 3.0]
    """
    n = values.shape[0]
    cur = values.astype(np.int64)
    w = np.asarray(weights, dtype=np.float64).copy()
    thr = np.asarray(thresholds).astype(np.int64)
    e = np.asarray(ends).astype(np.int64)
    s = np.zeros_like(e)
    res = np.zeros(e.shape[0], dtype=np.float64)
    positions = np.arange(n + 1)
    rank_zero = np.zeros(n + 1, dtype=np.int64)
    weight_zero = np.zeros(n + 1, dtype=np.float64)
    nxt, w_nxt = np.empty_like(cur), np.empty_like(w)
    for level in range(_nbits(n_values) - 1, -1, -1):
        zero = (cur >> level) & 1 == 0
        np.cumsum(zero, out=rank_zero[1:])
        rank_one = positions - rank_zero + rank_zero[-1]
        np.cumsum(np.where(zero, w, 0.0), out=weight_zero[1:])
        bit = ((thr >> level) & 1).astype(bool)
        res += np.where(bit, weight_zero[e] - weight_zero[s], 0.0)
        s = np.where(bit, rank_one[s], rank_zero[s])
        e = np.where(bit, rank_one[e], rank_zero[e])
        dest = np.where(zero, rank_zero[:-1], rank_one[:-1])
        nxt[dest] = cur
        w_nxt[dest] = w
        cur, nxt, w, w_nxt = nxt, cur, w_nxt, w
    return res


def _rank(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(unique, codes, order)``: sorted distinct values, each value's code, an argsort."""
    order = np.argsort(values)
    ordered = values[order]
    new = np.empty(values.shape[0], dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    codes = np.empty(values.shape[0], dtype=np.int64)
    codes[order] = np.cumsum(new) - 1
    return ordered[new], codes, order


def _tie_bounds(uniq: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Rank bounds ``(a, b)`` of the concordant and tied partners of each distinct risk.

    ``uniq[:a]`` are lower than ``u_k`` beyond ``tol`` (concordant partners), ``uniq[a:b]``
    within ``tol`` (tied partners).

    Uses scikit-survival's exact predicates ``est_j < est_i and not |est_j - est_i| <= tol``
    and ``|est_j - est_i| <= tol``, so floating-point edge cases agree.
    """
    m = uniq.shape[0]
    lower = np.arange(m)
    upper = lower + 1
    # |u_j - u_k| grows with the distance between j and k, so only risks whose neighbour lies
    # within ``tol`` can have bounds other than (k, k + 1): the common case costs one pass
    close = np.absolute(uniq[:-1] - uniq[1:]) <= tol
    if not close.any():
        return lower, upper

    def below(idx: np.ndarray, k: np.ndarray) -> np.ndarray:
        u, r = uniq[idx], uniq[k]
        return (u < r) & ~(np.absolute(u - r) <= tol)

    def within(idx: np.ndarray, k: np.ndarray) -> np.ndarray:
        u, r = uniq[idx], uniq[k]
        return (u < r) | (np.absolute(u - r) <= tol)

    def fix(start: np.ndarray, ks: np.ndarray, pred) -> np.ndarray:
        out = start.copy()
        while True:  # step down while the element before is outside the prefix
            sel = np.flatnonzero(out > 0)
            sel = sel[~pred(out[sel] - 1, ks[sel])]
            if sel.size == 0:
                break
            out[sel] -= 1
        while True:  # step up while the element at ``out`` is inside
            sel = np.flatnonzero(out < m)
            sel = sel[pred(out[sel], ks[sel])]
            if sel.size == 0:
                break
            out[sel] += 1
        return out

    ks = np.flatnonzero(np.r_[False, close])  # a close neighbour below
    lower[ks] = fix(np.searchsorted(uniq, uniq[ks] - tol, side="left"), ks, below)
    ks = np.flatnonzero(np.r_[close, False])  # a close neighbour above
    upper[ks] = fix(np.searchsorted(uniq, uniq[ks] + tol, side="right"), ks, within)
    return lower, upper


@dataclass(frozen=True)
class PreparedPairs:
    """Samples in decreasing comparability-key order, with everything queries need."""

    order: np.ndarray  # original row of each position
    codes: np.ndarray  # risk rank of each position
    n_codes: int
    events: np.ndarray  # original rows of the events
    ends: np.ndarray  # comparable-prefix length of each event
    lower: np.ndarray  # risk-rank bound: concordant partners have code < lower
    upper: np.ndarray  # tied partners have lower <= code < upper
    may_tie: np.ndarray  # events that can have a tied partner at all
    tied_time: int  # comparable pairs (event, censored) sharing a time
    entry_codes: np.ndarray | None = None  # risk ranks in decreasing-entry order (with entry)
    late: np.ndarray | None = None  # per event: samples entering at or after its time


def prepare_pairs(
    event: np.ndarray, time: np.ndarray, risk: np.ndarray, tied_tol: float,
    entry: np.ndarray | None = None,
) -> PreparedPairs:
    """Sort once; compute comparable-prefix lengths and risk-rank bounds of every event.

    With ``entry`` (validated, ``entry < time``), partners entering at or after an event's
    time are not comparable to it; :func:`event_counts` removes them.
    """
    n = time.shape[0]
    _, t_rank, t_order = _rank(time)
    key = 2 * t_rank + (~event)
    # ``t_order`` sorts by time; a stable sort of the nearly sorted keys fixes ties (fast)
    ascending = t_order[np.argsort(key[t_order], kind="stable")]
    order = ascending[::-1]
    key_counts = np.bincount(key, minlength=2 * (int(t_rank.max()) + 1) if n else 0)
    events = order[event[order]]  # in position order, so ``ends`` is sorted (cache friendly)
    ends = n - np.cumsum(key_counts)[key[events]]
    uniq_r, codes, _ = _rank(risk)
    a, b = _tie_bounds(uniq_r, tol=tied_tol)
    code_counts = np.bincount(codes, minlength=uniq_r.shape[0])
    ev_codes = codes[events]
    lower, upper = a[ev_codes], b[ev_codes]
    may_tie = (upper - lower > 1) | (code_counts[ev_codes] > 1)
    n_ev_t = key_counts[0::2]
    # a censored partner at the event's time entered before it (entry < time): still comparable
    tied_time = int(np.dot(n_ev_t, key_counts[1::2]))
    entry_codes = late = None
    if entry is not None:
        by_entry = np.argsort(-entry, kind="stable")
        entry_codes = codes[by_entry]
        late = n - np.searchsorted(entry[by_entry[::-1]], time[events], side="left")
    return PreparedPairs(
        order=order, codes=codes[order], n_codes=int(uniq_r.shape[0]), events=events,
        ends=ends, lower=lower, upper=upper, may_tie=may_tie, tied_time=tied_time,
        entry_codes=entry_codes, late=late,
    )


def _prefix_counts(codes: np.ndarray, n_codes: int, ends: np.ndarray, lower: np.ndarray,
                   upper: np.ndarray, may_tie: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    concordant = count_less_in_prefix(codes, n_codes, ends, lower)
    tied = np.zeros_like(concordant)
    sel = np.flatnonzero(may_tie)
    if sel.size:
        thr = np.concatenate((lower[sel], upper[sel]))
        both = count_less_in_prefix(codes, n_codes, np.tile(ends[sel], 2), thr)
        tied[sel] = both[sel.size:] - both[:sel.size]
    return concordant, tied


def event_counts(p: PreparedPairs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per event: concordant partners, tied-risk partners, comparable partners."""
    concordant, tied = _prefix_counts(p.codes, p.n_codes, p.ends, p.lower, p.upper, p.may_tie)
    comparable = p.ends.astype(np.int64)
    if p.late is not None and p.late.any():  # minus the partners not yet at risk
        sel = np.flatnonzero(p.late)
        late_conc, late_tied = _prefix_counts(p.entry_codes, p.n_codes, p.late[sel],
                                              p.lower[sel], p.upper[sel], p.may_tie[sel])
        concordant[sel] -= late_conc
        tied[sel] -= late_tied
        comparable = comparable - p.late
    return concordant, tied, comparable


class HarrellIndex:
    """Harrell's C under many row weightings (bootstrap multiplicities) without re-sorting.

    A replicate drawing row ``k`` ``w[k]`` times has C equal to
    ``sum_i w_i (C_i^w + T_i^w / 2) / sum_i w_i D_i^w``, where the per-event counts are sums of
    partner weights. Integer weights keep every sum exact in float64, so a replicate equals
    Harrell's C recomputed on the resampled rows bit for bit.

    Parameters
    ----------
    event, time, risk : numpy.ndarray
        Validated outcome and risk.
    tied_tol : float
        Risk-tie tolerance (scikit-survival's ``tied_tol``).
    """

    def __init__(self, event: np.ndarray, time: np.ndarray, risk: np.ndarray, tied_tol: float):
        p = prepare_pairs(event, time, risk, tied_tol)
        self.n = time.shape[0]
        self.order = p.order
        self.events = p.events
        self.ends = p.ends
        n_ev = p.events.shape[0]
        thr = np.concatenate((p.lower, p.upper)).astype(np.int64)
        query_event = np.concatenate((np.arange(n_ev), np.arange(n_ev)))
        s = np.zeros_like(thr)
        e = np.concatenate((p.ends, p.ends)).astype(np.int64)
        cur = p.codes.astype(np.int64)
        pos = p.order.copy()
        z = np.empty(self.n + 1, dtype=np.int64)
        z[0] = 0
        self.levels: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        for level in range(_nbits(p.n_codes) - 1, -1, -1):
            zero = ((cur >> level) & 1) == 0
            np.cumsum(zero, out=z[1:])
            nz = z[-1]
            zs, ze = z[s], z[e]
            bit = ((thr >> level) & 1).astype(bool)
            sel = np.flatnonzero(bit & (ze > zs))
            # rows (original indices) of the zeros at this level, in level order
            self.levels.append((pos[zero], query_event[sel], zs[sel], ze[sel]))
            s = np.where(bit, nz + s - zs, zs)
            e = np.where(bit, nz + e - ze, ze)
            cur = _partition(cur, zero)
            pos = _partition(pos, zero)

    def evaluate(self, weights: np.ndarray, *, chunk_elements: int = 400_000) -> np.ndarray:
        """Harrell's C for each row of ``weights`` (shape ``(n_replicates, n_samples)``).

        Returns NaN for a replicate without comparable pairs. Replicates are processed in
        chunks laid out one column per replicate, so every gather copies contiguous rows.
        """
        weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        out = np.empty(weights.shape[0])
        step = max(1, chunk_elements // max(self.n, 1))
        for start in range(0, weights.shape[0], step):
            w = np.ascontiguousarray(weights[start:start + step].T)  # (n_samples, chunk)
            w_ev = w[self.events]
            prefix = np.zeros((self.n + 1, w.shape[1]))
            np.cumsum(w[self.order], axis=0, out=prefix[1:])
            den = np.einsum("ij,ij->j", w_ev, prefix[self.ends])
            num = np.zeros(w.shape[1])
            for zero_rows, q_ev, zs, ze in self.levels:
                if q_ev.size == 0:
                    continue
                # weighted prefix counts of the zeros at this level, indexed like z
                wz = np.zeros((zero_rows.shape[0] + 1, w.shape[1]))
                np.cumsum(w[zero_rows], axis=0, out=wz[1:])
                num += np.einsum("ij,ij->j", w_ev[q_ev], wz[ze] - wz[zs])
            safe = np.where(den > 0, den, 1.0)
            out[start:start + step] = np.where(den > 0, 0.5 * num / safe, np.nan)
        return out
