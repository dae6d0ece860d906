from tests.network.p2p.conftest import ca, net

__all__ = ["ca", "net"]  # the p2p hosts' fixtures, for the node's parts that run over real hosts
