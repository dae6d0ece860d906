"""A seeded, single-process simulator: every node runs the real ConsensusDriver (QBFT + block sync) on a
fake chain over a faulty virtual network, in virtual time."""

from network.sim.runner import SeedResult, run_seed, summarize

__all__ = ["SeedResult", "run_seed", "summarize"]
