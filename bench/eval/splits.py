"""Per-person hold-out splits. Both keep 80 % of each person's ratings for training:

* ``random``: a per-person random 20 % hold-out with a fixed seed (the usual offline protocol);
* ``temporal``: each person's latest 20 % by timestamp are held out, which is how a live bot
  sees the world: it only ever knows the past.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bench.eval.data import Rating

Protocol = Literal["random", "temporal"]
PROTOCOLS: tuple[Protocol, ...] = ("random", "temporal")


@dataclass(frozen=True, slots=True)
class Split:
    protocol: Protocol
    train: dict[str, list[Rating]]  # person → ratings in time order
    test: dict[str, set[str]]  # person → held-out item ids

    @property
    def train_size(self) -> int:
        return sum(len(v) for v in self.train.values())

    @property
    def test_size(self) -> int:
        return sum(len(v) for v in self.test.values())


def held_out_count(n: int, fraction: float) -> int:
    """At least one item held out and at least one kept, for anyone with two or more."""
    if n < 2:
        return 0
    return min(n - 1, max(1, round(n * fraction)))


def split(
    ratings: Sequence[Rating], protocol: Protocol, *, fraction: float = 0.2, seed: int = 42
) -> Split:
    per_person: dict[str, list[Rating]] = defaultdict(list)
    for rating in ratings:
        per_person[rating.user].append(rating)
    rng = random.Random(seed)
    train: dict[str, list[Rating]] = {}
    test: dict[str, set[str]] = {}
    for user in sorted(per_person, key=lambda u: (len(u), u)):
        mine = sorted(per_person[user], key=lambda r: (r.ts, r.item))
        n_test = held_out_count(len(mine), fraction)
        if protocol == "random":
            shuffled = list(mine)
            rng.shuffle(shuffled)
            held = shuffled[:n_test]
        elif protocol == "temporal":
            held = mine[len(mine) - n_test :]
        else:
            raise ValueError(f"unknown protocol {protocol!r}")
        held_items = {r.item for r in held}
        train[user] = [r for r in mine if r.item not in held_items]
        test[user] = held_items
    return Split(protocol, train, test)
