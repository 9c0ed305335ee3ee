"""Deployment: ``sam.py`` writes the SAM template of one function behind an API Gateway proxy
resource (``lamroute template``)."""
