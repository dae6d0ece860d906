"""A seeded, single-process simulator that drives real `QbftCore`s over a faulty virtual network."""

from network.sim.runner import SeedResult, run_seed, summarize

__all__ = ["SeedResult", "run_seed", "summarize"]
