"""Signals the inventory sends so that layers above it can react without the inventory importing them."""

from django.dispatch import Signal

# Sent inside the transaction that changed a version's features, with ``version`` and ``actor``: launches of
# that version carry checklist items derived from its features and must be brought in step atomically.
features_changed = Signal()

# Sent when a model's page is drawn, with ``model``, ``user``, ``launch_page`` (the page of launch history asked
# for) and ``query`` (the page's query string); each receiver returns a dict merged into the page's context
# (readiness adds the model's launches). A ``model_sections`` list in it adds sections to the page, each drawn by
# its ``template`` with the section as ``section`` (the registry adds its MLflow section).
model_page_context = Signal()

# Sent inside the transaction that registered a version, with ``version`` and ``actor``: model risk opens a
# revalidation need when a vendor ships a new version of a vendor model.
version_registered = Signal()
