from typing import Any

from celery import Task

class TenantTask(Task[Any, Any]):
    tenant_cache_seconds: int | None
    tenant_databases: tuple[str, ...] | None
    @classmethod
    def get_tenant_databases(cls) -> tuple[str, ...]: ...
    @classmethod
    def get_tenant_for_schema(cls, schema_name: str) -> Any: ...

def __getattr__(name: str) -> Any: ...
