"""The short tour printed by `manage.py demo`; extended as the seeded stories grow."""

TOUR = [
    "1. Log in as dana and open Models: the inventory shows each model's tier and third-party controls.",
    "2. Tick 'Third-party features without a proxy-risk assessment' to find models that lack that control.",
]
