"""What the benchmarks share (machine description, data generators, process helpers); not benchmarks."""
