"""One pipeline for every file that comes in: decode, read a declared layout, reject it whole.

The owning app declares each file's layout (``Layout``: our field -> the file's column) and
applies the rows through its own service; this package holds what every import shares and
imports nothing above ``apps.common``. Adding a custodian: ``docs/architecture.md``.
"""
