"""The container's life around the requests: startup hooks, SnapStart, Managed Instances.

``hooks.py`` runs an app's ``@app.on_startup`` hooks once per container, before the first
request: in Lambda's INIT phase when the Lambda runtime imports the app, on the first request
otherwise (a failure answers every request with a 503); ``snapstart.py`` registers lamroute's
SnapStart runtime hooks when ``snapshot_restore_py`` is there (before the snapshot: the lazy work
a first request would do; after a restore: what must differ between environments). Loaded only
by apps that use them.
"""
