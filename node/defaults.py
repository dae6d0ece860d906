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
# the gaps and once the sending stops. bench.node's workload, interleaved runs, 8 each: 3,965 -> 4,382 tx/s
# and the eth_call p99 under load 17 -> 12 ms (medians); niceness 19 measured the same as 10. With the kernel's
# autogroups (on by default) a node started in its own session competes with other programs as one group, so
# this orders the node's own processes only.
EXECUTION_NICENESS = 10
