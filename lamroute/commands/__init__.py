"""Subcommands of the ``lamroute`` command line, one module each (see ``lamroute.cli``):
``serve.py``, ``invoke.py``, ``routes.py``, ``openapi.py`` and ``template.py``; ``_api.py`` and
``_runtime.py`` hold ``serve``'s API options and its local-runtime options."""
