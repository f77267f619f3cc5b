//! Checks on observed responses: status, schema, timing.
