"""The node's LevelDB chain store: blocks, txs, receipts, the logs index and the head state."""
