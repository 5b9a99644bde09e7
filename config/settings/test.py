"""Test settings: fast hashing, eager nothing (workers are real where a test says so)."""

from config.env import BASE_DIR, env
from config.settings.base import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
DEBUG = False
MEDIA_ROOT = env("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / ".dev" / "test-media"))

# Tests and runserver serve static files from the finders; WhiteNoise is for collected files.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]

# One process: its own memory is the cache the sign-in lockout counts in (production refuses it).
SILENCED_SYSTEM_CHECKS = ["axes.W001"]
