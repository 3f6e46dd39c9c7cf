"""Only the compiled part lives here; everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

# hashes over Arrow string buffers (HMAC-SHA256 from OpenSSL's libcrypto; Debian: libssl-dev)
setup(ext_modules=[Extension("tasks._hashing", ["tasks/_hashing.c"], libraries=["crypto"])])
