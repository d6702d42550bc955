"""A small client for MLflow's Model Registry REST API, over plain HTTP (the standard library's urllib).

Gatehouse does not use the MLflow Python client, so production does not install MLflow and its dependencies.
Only the calls Gatehouse needs are here. Every failure becomes one of two domain errors with a message a person
can act on: ``MlflowUnavailable`` (cannot reach the server, a timeout, a 5xx or 429 — worth retrying) and
``MlflowRefused`` (the server answered with a 4xx — retrying the same request will not help).
"""

import json
from dataclasses import dataclass
from http.client import HTTPException
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from django.conf import settings

from governance.kernel.errors import DomainError

API = "/api/2.0/mlflow"
PAGE_SIZE = 200


class MlflowError(DomainError):
    status_code = 502


class MlflowUnavailable(MlflowError):
    """MLflow could not be reached or failed on its side; the same request may succeed later."""

    code = "mlflow_unavailable"


class MlflowRefused(MlflowError):
    """MLflow answered and refused the request (4xx): retrying it unchanged will not help."""

    code = "mlflow_refused"

    def __init__(self, message: str, *, error_code: str = "", http_status: int = 400, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.error_code = error_code
        self.http_status = http_status


def enabled() -> bool:
    """The integration is on when MLFLOW_TRACKING_URI is set."""
    return bool(getattr(settings, "MLFLOW_TRACKING_URI", ""))


@dataclass(frozen=True)
class Client:
    base_url: str
    token: str = ""
    timeout: float = 10.0

    @classmethod
    def from_settings(cls) -> "Client":
        if not enabled():
            raise MlflowUnavailable("The MLflow integration is off: set MLFLOW_TRACKING_URI.", code="mlflow_off")
        return cls(base_url=settings.MLFLOW_TRACKING_URI.rstrip("/"), token=settings.MLFLOW_TRACKING_TOKEN,
                   timeout=settings.MLFLOW_TIMEOUT_SECONDS)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc or self.base_url

    def _call(self, method: str, endpoint: str, *, query: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        url = f"{self.base_url}{API}/{endpoint}"
        if query:
            url += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", "User-Agent": "gatehouse"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        what = f"MLflow at {self.host} ({method} {endpoint})"
        try:
            with urlopen(Request(url, data=data, headers=headers, method=method), timeout=self.timeout) as response:
                raw = response.read()
        except HTTPError as error:
            raw = error.read()
            try:
                detail = json.loads(raw or b"{}")
            except ValueError:
                detail = {}
            message = str(detail.get("message") or raw[:200].decode("utf-8", "replace") or error.reason)
            if error.code >= 500 or error.code == 429:
                raise MlflowUnavailable(f"{what} failed with HTTP {error.code}: {message}") from None
            raise MlflowRefused(f"{what} refused the request (HTTP {error.code} "
                                f"{detail.get('error_code', '')}): {message}".replace(" )", ")"),
                                error_code=str(detail.get("error_code", "")), http_status=error.code) from None
        except (URLError, HTTPException, OSError) as error:  # refused, reset, timed out, cut short
            reason = getattr(error, "reason", error)
            raise MlflowUnavailable(f"Cannot reach {what}: {reason}.") from None
        try:
            answer: dict[str, Any] = json.loads(raw or b"{}")
            return answer
        except ValueError:
            raise MlflowUnavailable(f"{what} answered with something that is not JSON.") from None

    # -- registered models and versions --------------------------------------------------------------------

    def get_registered_model(self, name: str) -> dict[str, Any]:
        registered: dict[str, Any] = self._call("GET", "registered-models/get", query={"name": name}).get(
            "registered_model", {})
        return registered

    def search_versions(self, name: str) -> list[dict[str, Any]]:
        """Every version of a registered model, following MLflow's pages."""
        escaped = name.replace("'", "\\'")
        versions: list[dict[str, Any]] = []
        token = None
        while True:
            page = self._call("GET", "model-versions/search", query={
                "filter": f"name='{escaped}'", "max_results": PAGE_SIZE, "page_token": token})
            versions.extend(page.get("model_versions", []))
            token = page.get("next_page_token")
            if not token:
                return versions

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run's data, or None when the run no longer exists."""
        try:
            run: dict[str, Any] = self._call("GET", "runs/get", query={"run_id": run_id}).get("run", {})
            return run
        except MlflowRefused as error:
            if error.error_code == "RESOURCE_DOES_NOT_EXIST" or error.http_status == 404:
                return None
            raise

    # -- version tags --------------------------------------------------------------------------------------

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        self._call("POST", "model-versions/set-tag",
                   body={"name": name, "version": str(version), "key": key, "value": value})

    def delete_version_tag(self, name: str, version: str, key: str) -> None:
        """Remove a version tag; a tag (or version) already gone counts as removed."""
        try:
            self._call("DELETE", "model-versions/delete-tag", body={"name": name, "version": str(version), "key": key})
        except MlflowRefused as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST" and error.http_status != 404:
                raise

    # -- aliases -------------------------------------------------------------------------------------------

    def set_alias(self, name: str, alias: str, version: str) -> None:
        self._call("POST", "registered-models/alias", body={"name": name, "alias": alias, "version": str(version)})

    def delete_alias(self, name: str, alias: str) -> None:
        try:
            self._call("DELETE", "registered-models/alias", body={"name": name, "alias": alias})
        except MlflowRefused as error:
            if error.error_code != "RESOURCE_DOES_NOT_EXIST" and error.http_status != 404:
                raise


def aliases_of(registered_model: dict[str, Any]) -> dict[str, str]:
    """{alias: version} from a registered model as MLflow returns it."""
    return {a["alias"]: str(a["version"]) for a in registered_model.get("aliases", []) if "alias" in a}
