/* Hashes of every value of an Arrow string column, in one call each, with the GIL released.
 *
 * hmac_sha256_uuid: the pseudonym of an ID number. hash64: a fast 64-bit fingerprint used to find
 * repeated household ids in a stream (equal fingerprints are then compared as text).
 *
 * Per-row hashing in Python costs ~0.6 µs a row and made pseudonymisation 3-5x the bare load
 * of a registry (benchmarks/registry.py). Here the keyed inner and outer SHA-256 states are computed once
 * (RFC 2104) and copied per value, and OpenSSL's SHA-256 (SHA-NI / AVX2 where the CPU has
 * them) does the rest. The input is the column's own buffers (int32 offsets and bytes), the
 * output 16 bytes per value, back to back: the HMAC's first 16 bytes with the version (8) and
 * variant bits of an RFC 9562 UUID set (fupin/core/pseudonym.py), ready to become an Arrow
 * UUID array without a Python object per row.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_API_COMPAT 30000 /* OpenSSL 3's EVP API only: a deprecated call fails the build */
#define OPENSSL_NO_DEPRECATED
#include <Python.h>
#include <openssl/crypto.h> /* OPENSSL_cleanse */
#include <openssl/evp.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 64  /* SHA-256's block size in bytes (RFC 2104's B) */
#define DIGEST 32 /* SHA-256's output size in bytes */
#define UUID 16   /* bytes of a pseudonym: the HMAC truncated (RFC 2104 section 5), as a version 8 UUID */

/* The digest contexts after the key's inner (0x36) and outer (0x5c) pads: each value starts from a copy.
 * Returns 0 with a Python error set when OpenSSL fails. */
static int keyed_states(const EVP_MD *sha256, const unsigned char *key, Py_ssize_t key_len, EVP_MD_CTX *inner,
                        EVP_MD_CTX *outer)
{
    unsigned char block[BLOCK] = {0}, pad[BLOCK];
    unsigned int len = 0;
    int ok = 1;
    if (key_len > BLOCK)
        ok = EVP_Digest(key, (size_t)key_len, block, &len, sha256, NULL);
    else
        memcpy(block, key, (size_t)key_len);
    for (int i = 0; i < BLOCK; i++) pad[i] = block[i] ^ 0x36;
    ok = ok && EVP_DigestInit_ex(inner, sha256, NULL) && EVP_DigestUpdate(inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++) pad[i] = block[i] ^ 0x5c;
    ok = ok && EVP_DigestInit_ex(outer, sha256, NULL) && EVP_DigestUpdate(outer, pad, BLOCK);
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    if (!ok)
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL could not prepare the keyed SHA-256 states");
    return ok;
}

/* Number of values of an Arrow string column given as int32 offsets and data; -1 with an error set
 * when the offsets do not describe strings inside the data buffer. */
static Py_ssize_t string_count(const Py_buffer *offsets, const Py_buffer *data)
{
    if (offsets->len % (Py_ssize_t)sizeof(int32_t) != 0 || offsets->len < (Py_ssize_t)sizeof(int32_t)) {
        PyErr_SetString(PyExc_ValueError, "offsets must be n + 1 int32 values (an Arrow string array's)");
        return -1;
    }
    const int32_t *off = (const int32_t *)offsets->buf;
    Py_ssize_t n = offsets->len / (Py_ssize_t)sizeof(int32_t) - 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (off[i] < 0 || off[i + 1] < off[i] || off[i + 1] > data->len) {
            PyErr_Format(PyExc_ValueError, "offset %zd lies outside the data buffer", i);
            return -1;
        }
    }
    return n;
}

static PyObject *hmac_sha256_uuid(PyObject *self, PyObject *args)
{
    Py_buffer key, offsets, data;
    if (!PyArg_ParseTuple(args, "y*y*y*", &key, &offsets, &data))
        return NULL;
    PyObject *result = NULL;
    const int32_t *off = (const int32_t *)offsets.buf;
    Py_ssize_t n = string_count(&offsets, &data);
    if (n < 0)
        goto done;
    result = PyBytes_FromStringAndSize(NULL, n * UUID);
    if (result == NULL)
        goto done;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
    const unsigned char *bytes = (const unsigned char *)data.buf;
    EVP_MD *sha256 = EVP_MD_fetch(NULL, "SHA256", NULL); /* fetched once: EVP_sha256() would look it up per init */
    EVP_MD_CTX *inner = EVP_MD_CTX_new(), *outer = EVP_MD_CTX_new(), *ctx = EVP_MD_CTX_new();
    if (sha256 == NULL || inner == NULL || outer == NULL || ctx == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "OpenSSL has no SHA-256 digest available");
        Py_CLEAR(result);
    } else if (!keyed_states(sha256, (const unsigned char *)key.buf, key.len, inner, outer)) {
        Py_CLEAR(result);
    } else {
        int ok = 1;
        Py_BEGIN_ALLOW_THREADS
        unsigned char digest[DIGEST];
        unsigned int len;
        for (Py_ssize_t i = 0; ok && i < n; i++) {
            ok = EVP_MD_CTX_copy_ex(ctx, inner) && EVP_DigestUpdate(ctx, bytes + off[i], (size_t)(off[i + 1] - off[i]))
                 && EVP_DigestFinal_ex(ctx, digest, &len) && EVP_MD_CTX_copy_ex(ctx, outer)
                 && EVP_DigestUpdate(ctx, digest, DIGEST) && EVP_DigestFinal_ex(ctx, digest, &len);
            memcpy(out, digest, UUID);
            out[6] = (unsigned char)((out[6] & 0x0F) | 0x80); /* version 8 */
            out[8] = (unsigned char)((out[8] & 0x3F) | 0x80); /* variant: RFC 9562 */
            out += UUID;
        }
        OPENSSL_cleanse(digest, sizeof digest);
        Py_END_ALLOW_THREADS
        if (!ok) {
            PyErr_SetString(PyExc_RuntimeError, "OpenSSL failed while hashing");
            Py_CLEAR(result);
        }
    }
    EVP_MD_CTX_free(ctx); /* frees clear the contexts' states (the keyed pads among them) */
    EVP_MD_CTX_free(inner);
    EVP_MD_CTX_free(outer);
    EVP_MD_free(sha256);
done:
    PyBuffer_Release(&key);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
}

static PyObject *hash64(PyObject *self, PyObject *args)
{
    Py_buffer offsets, data;
    if (!PyArg_ParseTuple(args, "y*y*", &offsets, &data))
        return NULL;
    PyObject *result = NULL;
    const int32_t *off = (const int32_t *)offsets.buf;
    Py_ssize_t n = string_count(&offsets, &data);
    if (n < 0)
        goto done;
    result = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(uint64_t));
    if (result == NULL)
        goto done;
    uint64_t *out = (uint64_t *)PyBytes_AS_STRING(result);
    const unsigned char *bytes = (const unsigned char *)data.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t h = 14695981039346656037ULL; /* FNV-1a, then MurmurHash3's finaliser to spread the bits */
        for (int32_t j = off[i]; j < off[i + 1]; j++) {
            h ^= bytes[j];
            h *= 1099511628211ULL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        out[i] = h;
    }
    Py_END_ALLOW_THREADS
done:
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef methods[] = {
    {"hmac_sha256_uuid", hmac_sha256_uuid, METH_VARARGS,
     "hmac_sha256_uuid(key, offsets, data) -> bytes\n\n"
     "HMAC-SHA256 of each value of an Arrow string column given as its int32 offsets (n + 1)\n"
     "and data buffers, truncated to 16 bytes with the version 8 and variant bits of an RFC 9562\n"
     "UUID set: 16 bytes per value, back to back. Releases the GIL."},
    {"hash64", hash64, METH_VARARGS,
     "hash64(offsets, data) -> bytes\n\n"
     "A 64-bit fingerprint (FNV-1a with a final mix) of each value, as n native-endian uint64."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_hashing", "Hashes of Arrow string columns.", -1, methods};

PyMODINIT_FUNC PyInit__hashing(void) { return PyModule_Create(&module); }
