//! The API as the harness speaks it: the operation table, and (later) token handling, request
//! building and the XML→JSON mapping.

pub mod client;
pub mod ops;
pub mod token;
pub mod xml;
