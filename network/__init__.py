"""Consortium networking: QBFT consensus (`network.qbft`) and its seeded fault simulator (`network.sim`)."""
