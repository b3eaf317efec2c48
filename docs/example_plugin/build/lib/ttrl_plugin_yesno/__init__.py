"""An example third-party ttrl-kit plugin (see docs/writing-a-plugin.md)."""
