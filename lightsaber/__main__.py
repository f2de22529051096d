"""``python -m lightsaber`` runs the CLI (importing this module does nothing)."""

import sys

from lightsaber.cli import main

if __name__ == "__main__":
    sys.exit(main())
