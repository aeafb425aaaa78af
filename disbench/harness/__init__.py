"""The benchmark's engine: a submission trained and scored under a fixed protocol, as a record.

Read it in the order a run flows:

- ``submission.py``, ``validate.py``: the submission folder (schema, allowed files, content hash).
- ``run/``: ``disbench run``. ``run_submission`` (``run/__init__.py``) trains one seed through
  ``train.py`` (the run's bookkeeping) and ``loop.py`` (the training loop), keeping ``folder.py``
  (the run folder and its lock) and ``checkpoint.py``; ``evaluation.py`` scores; ``integrity.py``
  checks the harness's own code.
- ``child/``: the sandboxed child process where the submission's code runs (``sandbox.py``,
  ``remote.py`` on the harness's side, ``serve.py`` in the child).
- ``record/``: the result record (``record/__init__.py``), ``sign.py`` (``disbench sign``, a step
  apart), ``signing.py`` (Ed25519), ``verify.py`` (``disbench verify``).
- Beside the flow: ``sweep/`` (grids of runs, here or on Slurm) and ``pack/`` (several seeds
  trained as one batched computation).
"""
