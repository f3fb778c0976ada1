"""``python -m graphcl``: the same command line as ``graphcl``."""
import sys

from graphcl.cli import main

sys.exit(main())
