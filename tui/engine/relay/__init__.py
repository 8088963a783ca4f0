"""The vendor-side support relay: routes engineers to appliances by serial."""
