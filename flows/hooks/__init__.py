"""MLflow registry hooks: webhooks in, conversions out, results written back to the registry."""
