"""Embedded single-machine TTRL engine (TRL GRPOTrainer)."""
