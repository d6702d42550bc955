"""The readiness app's configuration: connects to the inventory's signals. May connect only to signals
of its own layer or below.
"""

from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "readiness"
    verbose_name = "Launch readiness"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from governance.inventory.signals import features_changed, model_page_context
        from readiness import receivers

        features_changed.connect(receivers.keep_launches_in_step, dispatch_uid="readiness.features_changed")
        model_page_context.connect(receivers.model_launches, dispatch_uid="readiness.model_page_context")
        from readiness.signals import pending_decision_decided

        pending_decision_decided.connect(receivers.review_waiting_deployments,
                                         dispatch_uid="readiness.pending_decision_decided")
