"""Commands for rollouts and the gate's receipt signing keys."""
