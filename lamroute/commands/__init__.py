"""Subcommands of the ``lamroute`` command line, one module each (see ``lamroute.cli``)."""
