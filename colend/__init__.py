"""The application layer: the `colend` command's root, the demo and the process launchers.

It sits above every package (contracts, network, node, clearing) and nothing imports it.
"""
