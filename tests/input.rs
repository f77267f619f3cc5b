//! Integration tests: input limits (one binary; each module was a test binary of its own).
//! A binary of its own: these tests read a child's peak RSS from `wait4`, which counts the
//! parent's resident memory at the spawn, so the parent must stay small.

mod input_common;
mod input_fuzz;
mod input_limits;
