"""`python -m colend`: the same as the `colend` command."""

import sys

from colend.cli import main

sys.exit(main())
