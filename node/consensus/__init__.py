"""The node's side of consensus: network/abc.py's interfaces implemented with the engine, LevelDB and asyncio.
The consensus logic itself (network.driver.ConsensusDriver, QBFT, block sync) lives in network/."""
