"""Every bound the RPC server enforces, in one frozen value, so an operator can tune them and tests can shrink them."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class RpcLimits:
    """Bounds on what one caller can make the node read, hold or send."""

    max_body_bytes: int = 5 * MIB
    max_batch: int = 1000
    # Once a batch's replies pass this size, its remaining calls are answered with an error, not run (geth: 25 MB).
    max_batch_response_bytes: int = 25 * MIB
    # geth's pool refuses txs above 128 KiB ("oversized data"); checking here spares the decoder.
    max_raw_tx_bytes: int = 128 * 1024
    max_log_block_range: int = 10_000
    max_log_results: int = 10_000
    max_filters: int = 1024
    # A filter not polled for this many new blocks is dropped (geth uses 5 minutes; blocks keep it clock-free).
    filter_idle_blocks: int = 1024
    max_fee_history_blocks: int = 1024
    max_reward_percentiles: int = 100
    max_ws_connections: int = 256
    max_subscriptions_per_connection: int = 128
    # Messages waiting to go out on one WebSocket; a client that falls this far behind is disconnected.
    ws_outbox_size: int = 4096

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"RpcLimits.{name} must be a positive int, got {value!r}")
        if self.filter_idle_blocks > self.max_log_block_range:
            # A filter's unpolled span must fit one log query, or its changes could not be served.
            raise ValueError("RpcLimits.filter_idle_blocks must not exceed max_log_block_range")
