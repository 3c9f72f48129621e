"""Build the optional C fast path of the book builder; everything else is in pyproject.toml.

``optional=True``: without a working C compiler the build goes on without it, and
``kcap.book.builder`` runs its pure-Python loop (``kcap.book.builder.FASTPATH`` says which).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("kcap.book._fastpath", ["src/kcap/book/_fastpath.c"], optional=True),
    ]
)
