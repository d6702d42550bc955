"""The roles a person can hold, as choices. Kernel layer: imports Django only."""

from django.db import models


class Role(models.TextChoices):
    """What a person can act as. A sign-off is always given *as* one of these."""

    DATA_SCIENCE = "DATA_SCIENCE", "Data Science"
    COMPLIANCE = "COMPLIANCE", "Compliance"
    LEGAL = "LEGAL", "Legal"
    MODEL_RISK = "MODEL_RISK", "Model Risk Management"
    PRODUCT = "PRODUCT", "Product"
    ENGINEERING = "ENGINEERING", "Engineering"
    VIEWER = "VIEWER", "Viewer"
