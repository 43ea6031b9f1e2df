"""The evidence store and its chain: records, record kinds, signing, verification, retention."""
