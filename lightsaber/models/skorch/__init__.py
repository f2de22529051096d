"""skorch plumbing of the nets: fast tensor batching, callbacks, atomic checkpoints, scoring.

Used only by :mod:`lightsaber.models.nets`; nothing here is a user entry point.
"""
