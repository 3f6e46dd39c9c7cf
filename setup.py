"""Only the compiled part lives here; everything else about the package is in pyproject.toml."""

from setuptools import Extension, setup

# hashes over Arrow string buffers (HMAC-SHA256 from OpenSSL 3's libcrypto; Debian: gcc, libssl-dev). Optional:
# without a compiler or the headers the install goes on and tasks/identity/hashing.py uses its exact pure fallback.
setup(ext_modules=[Extension("fupin.tasks._hashing", ["tasks/_hashing.c"], libraries=["crypto"], optional=True)])
