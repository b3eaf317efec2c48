"""The ``ttrl-kit`` command line: a thin shell over the core and the engines."""
