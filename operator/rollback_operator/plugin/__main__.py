"""``python -m rollback_operator.plugin``: the same as the ``kubectl-rollback`` console script."""

import sys

from rollback_operator.plugin.cli import main

sys.exit(main())
