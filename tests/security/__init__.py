"""Attacks on rac, each reproduced against the real relay and endpoint over loopback."""
