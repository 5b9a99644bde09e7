from typing import Any

from celery import Celery

class CeleryApp(Celery): ...

def __getattr__(name: str) -> Any: ...
