"""``python -m lightsaber`` runs the CLI."""

import sys

from lightsaber.cli import main

sys.exit(main())
