"""A REST API with a stage, served on a custom domain under a base path (/shop)."""
