"""Example apps; each folder is a package with its own tests and SAM template."""
