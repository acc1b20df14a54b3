"""A buffered random source for the synthetic cohort.

Calling a numpy Generator once per scalar costs about a microsecond of overhead, which would
dominate a million-patient run; drawing uniforms in blocks and doing the arithmetic in Python is
several times faster.  Only `Generator.random()` is used (the PCG64 double stream, which numpy
keeps stable across releases); normals come from our own Box–Muller transform, so the same seed
gives byte-identical files on any numpy version that keeps PCG64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

_BLOCK = 8192


class Draws:
    """Sequential random draws from one PCG64 stream seeded with the user's seed."""

    __slots__ = ("_buf", "_gen", "_i", "_spare")

    def __init__(self, seed: int, stream: int = 0) -> None:
        # stream 0 is the historical stream; another stream is an independent one of the same
        # seed (NumPy SeedSequence of [seed, stream]).
        bits = np.random.PCG64(seed) if stream == 0 else np.random.PCG64([seed, stream])
        self._gen = np.random.Generator(bits)
        self._buf: list[float] = []
        self._i = 0
        self._spare: float | None = None

    def u(self) -> float:
        """Uniform on [0, 1)."""
        if self._i >= len(self._buf):
            self._buf = self._gen.random(_BLOCK).tolist()
            self._i = 0
        value = self._buf[self._i]
        self._i += 1
        return value

    def chance(self, p: float) -> bool:
        return self.u() < p

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.u()

    def int_between(self, lo: int, hi: int) -> int:
        """Integer uniform on [lo, hi], both ends included."""
        return lo + int(self.u() * (hi - lo + 1))

    def z(self) -> float:
        """Standard normal (Box–Muller; the second value of each pair is kept for next time)."""
        if self._spare is not None:
            value, self._spare = self._spare, None
            return value
        u1 = 1.0 - self.u()  # (0, 1], so log() is finite
        u2 = self.u()
        radius = math.sqrt(-2.0 * math.log(u1))
        self._spare = radius * math.sin(2.0 * math.pi * u2)
        return radius * math.cos(2.0 * math.pi * u2)

    def normal(self, mean: float, sd: float) -> float:
        return mean + sd * self.z()

    def bounded_normal(self, mean: float, sd: float, lo: float, hi: float) -> float:
        """Normal restricted to [lo, hi] by redrawing (a truncated normal, not a clamp)."""
        for _ in range(64):
            value = mean + sd * self.z()
            if lo <= value <= hi:
                return value
        return min(max(mean, lo), hi)  # only reachable for absurd parameters

    def lognormal(self, median: float, sigma: float) -> float:
        """Log-normal with the given median and log-scale spread."""
        return median * math.exp(sigma * self.z())

    def bounded_lognormal(self, median: float, sigma: float, lo: float, hi: float) -> float:
        for _ in range(64):
            value = median * math.exp(sigma * self.z())
            if lo <= value <= hi:
                return value
        return min(max(median, lo), hi)

    def exponential(self, mean: float) -> float:
        return -mean * math.log(1.0 - self.u())

    def pick(self, options: Sequence[tuple[T, float]]) -> T:
        """One option, chosen with probability proportional to its weight."""
        total = 0.0
        for _, weight in options:
            total += weight
        target = self.u() * total
        for value, weight in options:
            target -= weight
            if target < 0.0:
                return value
        return options[-1][0]
