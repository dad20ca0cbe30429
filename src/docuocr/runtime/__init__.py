"""Run an Engine over documents: the one place an Engine is built for serving or batch work.

- `engines`: `build_engine(threads, overrides)` and how many inference threads each worker gets.
- `worker`: the worker side: one `Worker` (an Engine and every model's limits) reads one whole
  document per job; `init_worker` and `run_job` are the process entry points for the server's pool
  and `docuocr batch --engine local`; Ray's actors hold a `Worker` of their own.
- `dispatch`: the submit, wait and retry loop that `batch --engine local` and `--engine ray`
  share.
"""
