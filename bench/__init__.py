"""Benchmarks. Each module is one benchmark, run as `python -m bench.<name> [--tiny]`, printing one JSON object;
`python -m bench` runs them all and writes one JSON file with the machine's description. Helpers live in
bench/support, which is not a benchmark."""
