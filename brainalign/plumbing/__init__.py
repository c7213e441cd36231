"""Plumbing every step uses: one cache (cache), atomic writes (io), pickled .npy read without running code (npy),
locks, Ctrl-C/SIGTERM (interrupt), stage timings (profiling), data-file content hashes (datahash)."""
