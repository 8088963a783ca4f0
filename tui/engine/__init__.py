"""The engine: tunnels, relay, service endpoint, probe and lab. It imports no Textual."""
