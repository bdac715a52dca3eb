"""`kerasfix verify`: build each model of a program before and after migration, compare them, train a few steps.

Only `kerasfix.verify.worker` and the modules it loads (compat, sandbox, runtime) import TensorFlow, and only
inside the worker process; `check`, `migrate` and `summary` never import this package.
"""
