"""The node on the p2p host: tx gossip between validators and the on-chain membership view that admits peers."""
