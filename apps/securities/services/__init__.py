"""Writes to the securities master, one module per kind of write.

``master``: the securities and prices imports; ``funds``: the fund holdings import;
``reference``: the reference-data load and the demo basket funds.
"""
