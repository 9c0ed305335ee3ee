"""Deployment: ``sam.py`` writes the SAM template of one function behind an API Gateway proxy
resource (``lamroute template``); ``custom_integration.py`` holds the mapping templates and
OpenAPI definitions of the custom (non-proxy) integration (``--integration custom``)."""
