"""Deploy-tool contracts: the one gate decision (readiness.gate) spoken in each tool's own documented contract.

One module per tool (``argo`` for Argo Rollouts and Kargo, ``flagger``, ``spinnaker``, ``github``); each parses
what its tool sends, asks ``decision.answer`` and writes the answer the way its tool reads it. None holds a rule
of its own: binding the call to what ships (digest), INCONCLUSIVE, "could not decide" and the call record are
``decision``'s, the rest is the gate's.
"""
