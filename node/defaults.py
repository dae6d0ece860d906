"""The node's default limits, in a module that imports nothing, so reading a config stays instant."""

from __future__ import annotations

DEFAULT_BLOCK_PERIOD_MS = 200
# A block of 1,500 single-entry txs executes in 130-200 ms in the execution process, about one default period.
# When execution shared the node's GIL, bigger blocks held it in longer stretches and eth_call's p99 under load
# rose past 20 ms; with execution in its own process, 3,000 measured no faster (bench.node's workload with its
# eth_call probe, 8 runs each: 3,777 / 3,824 tx/s, within the machine's noise), so the cap stays.
DEFAULT_MAX_TXS_PER_BLOCK = 1_500
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
