"""The node's default limits, in a module that imports nothing, so reading a config stays instant."""

from __future__ import annotations

# The one ledger group of a node configured without [[groups]] (its files are [node] genesis and data_dir), and the
# name every node of such a consortium gives it on the p2p host and at /g/<name> on JSON-RPC.
DEFAULT_GROUP = "main"
DEFAULT_BLOCK_PERIOD_MS = 200
# What a proposer puts in one block at most. With the next block executed as its txs arrive (node/engine/next_block.py),
# a block's execution spreads over its period, and this cap decides how fast a backlog clears: at 1,500, bench.node's
# clients left two blocks' worth in the pool when they stopped sending, and the two periods it took were a third of
# the run (a 0.33 s tail after 0.55 s of sending; anvil, with no count cap, cleared its backlog in 0.13-0.16 s).
# Three interleaved runs of 3 rounds each (2026-11-30, bench.node --no-anvil, start-up heap frozen as node/proc/heap.py
# says): 1,500 -> 6,832-6,890 tx/s, 3,000 -> 8,723-9,049, 5,000 -> 8,802-9,218, with eth_call p99 under load 5-14 ms
# at every cap. bench.network, two runs each, 1,500 against 5,000: 2,032/2,052 and 2,508/2,175 tx/s, finality alike
# (the consortium's blocks are bounded by its max_block_gas first, colend/consortium/setup.py).
DEFAULT_MAX_TXS_PER_BLOCK = 5_000
DEFAULT_MAX_TX_BYTES = 128 * 1024
# The execution process runs at this niceness above the node's. While clients send, the node (RPC, admission)
# and its batch worker then get a core first and the execution process takes what is left; it catches up in
# the gaps and once the sending stops. bench.node's workload, three interleaved A/Bs of 8, 6 and 10 pairs:
# tx/s means 3,965 -> 4,382, 3,997 -> 3,933 and 3,977 -> 4,335; eth_call p99 under load (medians) 17 -> 12,
# 16 -> 15 and 18 -> 12 ms. Niceness 19 measured as 10 did. With the kernel's autogroups (on by default) a node
# started in its own session competes with other programs as one group, so this orders its own processes only.
# A validator also checks its peers' proposals in the execution process, which then yields to its admission of
# gossiped txs when cores are short: bench.network (five nodes on two cores) swung too much to tell either way,
# so `execution_niceness` under [node] in node.toml sets it (0: equal footing).
EXECUTION_NICENESS = 10
