"""The core: records, protocols, estimators, metrics, the plugin registry.

It knows no engine and no particular task plugin."""
