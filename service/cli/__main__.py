"""`python -m service.cli`: the `timeline` command."""

from service.cli.main import main

raise SystemExit(main())
