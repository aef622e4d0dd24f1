"""A structure-aware fuzzer for nwcodec receivers (used by tests/test_fuzz.py and benchmarks/fuzz.py).

:mod:`container` splits a stream into chunks and re-frames it with fresh CRCs, :mod:`mutate` holds the
mutation classes, :mod:`worker` decodes one mutant in a resource-limited child process and classifies
the outcome, :mod:`runner` drives a pool of such children over many mutants.
"""
