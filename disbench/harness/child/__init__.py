"""The sandboxed child: where a submission's code runs, and the harness's side of talking to it.

``remote.RemoteLearner`` starts ``python -m disbench.harness.child`` (``serve.py``) inside the
walls of ``sandbox.py``; the two talk through ``channel.py`` (JSON messages and shared memory).
In the child, ``learner.Learner`` steps the submission's method and ``contract.py`` checks it.
"""
