"""``demo``, ``seed_examples`` and ``generate_scale_data``."""
