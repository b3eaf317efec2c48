"""ttrl-kit task plugin for text classification by label voting."""
