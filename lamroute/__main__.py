"""``python -m lamroute`` works like ``lamroute``."""

from .cli import main

raise SystemExit(main())
