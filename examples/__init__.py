"""Layer 4, the documented examples: seeding through the services, the demo people, ``demo`` and
``seed_examples``.

May import every layer below; nothing below imports it. Writes only through services.
"""
