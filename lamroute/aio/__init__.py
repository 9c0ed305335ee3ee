"""asyncio support: the container's event loop, and async routes wired onto it.

Loaded only by apps with async code (an ``async def`` handler, dependency, middleware,
exception handler or startup hook): an app without any never imports ``asyncio``. ``loop.py``
holds the event loop (one per container, created on first use, reused by every invocation) and
:func:`~lamroute.aio.loop.run`, the synchronous entry point's way onto it; ``eager.py`` the
loop class that takes a request task's first step at once; ``routes.py`` builds an async route's
endpoint and the async middleware chains.
"""
