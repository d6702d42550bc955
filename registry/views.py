"""The MLflow webhook endpoint: verify the signature, then hand the payload to the registry services."""

import json

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from governance.kernel.errors import DomainError

from . import services


@csrf_exempt
@require_POST
def mlflow_webhook(request):
    """MLflow's registry webhooks (model version created, alias created or deleted, tags): verify, then sync."""
    try:
        services.verify_webhook(
            body=request.body, delivery_id=request.headers.get("X-MLflow-Delivery-Id", ""),
            timestamp=request.headers.get("X-MLflow-Timestamp", ""),
            signature=request.headers.get("X-MLflow-Signature", ""), secret=settings.MLFLOW_WEBHOOK_SECRET)
        try:
            payload = json.loads(request.body)
        except ValueError:
            return JsonResponse({"code": "invalid", "detail": "The body is not JSON."}, status=400)
        link = services.receive_webhook(payload, delivery_id=request.headers.get("X-MLflow-Delivery-Id", ""))
    except DomainError as error:
        return JsonResponse(error.as_dict(), status=error.status_code)
    return JsonResponse({"status": "sync queued" if link else "ignored: not linked"}, status=202 if link else 200)
