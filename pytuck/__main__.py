"""``python -m pytuck``: see :mod:`pytuck.cli`."""

from pytuck.cli import main

raise SystemExit(main())
