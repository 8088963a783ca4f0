"""Tests against real servers on loopback: the lab, asyncssh, dnspython, OpenSSH, the console."""
