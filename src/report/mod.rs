//! Report writers: one module per format, each a pure builder plus a `write` that masks secrets.
