from typing import Any

from django.db import models
from django.db.models.expressions import Combinable

class TenantMixin(models.Model):
    auto_drop_schema: bool
    auto_create_schema: bool
    schema_name: models.CharField[str | int | Combinable, str]
    domain_url: str | None
    # django-tenants adds a leading parameter to Model.save and Model.delete.
    def save(self, verbosity: int = ..., *args: Any, **kwargs: Any) -> None: ...
    def delete(self, force_drop: bool = ..., *args: Any, **kwargs: Any) -> Any: ...  # type: ignore[override]
    def activate(self) -> None: ...
    @classmethod
    def deactivate(cls) -> None: ...
    def create_schema(
        self, check_if_exists: bool = ..., sync_schema: bool = ..., verbosity: int = ...
    ) -> bool: ...
    def get_primary_domain(self) -> DomainMixin | None: ...

class DomainMixin(models.Model):
    domain: models.CharField[str | int | Combinable, str]
    tenant: models.ForeignKey[Any, Any]
    is_primary: models.BooleanField[bool | Combinable, bool]
    def save(self, *args: Any, **kwargs: Any) -> None: ...

def __getattr__(name: str) -> Any: ...
