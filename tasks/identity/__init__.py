"""Who a row is about, without keeping who: resident ID numbers checked (``numbers``) and turned into keyed
pseudonyms (``hashing``: HMAC-SHA256, native or its exact pure fallback). The registry and the forms' pseudonyms
both use it; it imports neither."""
