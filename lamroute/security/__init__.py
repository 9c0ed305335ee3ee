"""Security: who may call what.

``guards.py`` (``requires(...)``, :class:`~lamroute.security.guards.Guard`, ``current_identity``)
checks the caller before a route's parameters are bound; ``cors.py``
(:class:`~lamroute.security.cors.CORS`) answers preflights and adds the CORS headers. The caller
itself is :class:`lamroute.http.identity.Identity` (``request.auth``), read from the event by
:mod:`lamroute.formats.identity`; Lambda authorizers are written with :mod:`lamroute.authorizers`.
Nothing here loads until an app uses ``auth=`` or ``cors=``.
"""
