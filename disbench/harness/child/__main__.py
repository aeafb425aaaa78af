"""``python -m disbench.harness.child``: the child's entry point (see ``serve.py``)."""

import sys

from disbench.harness.child.serve import main

sys.exit(main(sys.argv[1:]))
