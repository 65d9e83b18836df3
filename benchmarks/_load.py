"""A competing CPU-bound process for the benchmarks' "busy machine" rows (a user's laptop is always busy)."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
from typing import Iterator


def _spin() -> None:
    while True:
        pass


@contextlib.contextmanager
def busy_core(on: bool = True) -> Iterator[None]:
    """One process spinning on one core while the block runs (nothing when ``on`` is False)."""
    load = mp.Process(target=_spin, daemon=True) if on else None
    if load:
        load.start()
    try:
        yield
    finally:
        if load:
            load.terminate()
            load.join()
