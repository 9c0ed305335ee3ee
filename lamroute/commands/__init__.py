"""Subcommands of the ``lamroute`` command line, one module each (see ``lamroute.cli``):
``serve.py``, ``invoke.py``, ``routes.py``, ``openapi.py`` and ``template.py``."""
