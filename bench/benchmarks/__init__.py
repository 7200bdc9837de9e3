"""The benchmarks, one module each; `run(mode, options)` answers its Result."""
