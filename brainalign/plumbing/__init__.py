"""Plumbing every step uses: one cache (cache), atomic writes (io), locks, Ctrl-C/SIGTERM (interrupt), stage
timings (profiling), data-file content hashes (datahash)."""
