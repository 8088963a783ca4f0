"""The built-in lab: relay, DNS and a fleet of appliances, all on loopback in one process."""
