"""Fast tests of pure functions: no lab, no sockets, no subprocess servers."""
