"""Developer machine: debug on, embedded stack by default."""

from config.env import env
from config.settings.base import *

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# runserver serves static files from the finders; WhiteNoise is for collected files.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]

# One process: its own memory is the cache the sign-in lockout counts in (production refuses it).
SILENCED_SYSTEM_CHECKS = ["axes.W001"]
