"""Attacks on the real relay and endpoint over loopback, one file per family."""
