"""`python -m network.sim`: seeded QBFT fault simulation; prints one JSON object."""

import sys

from network.sim.main import main

sys.exit(main())
