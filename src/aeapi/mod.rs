//! The API as the harness speaks it: the operation table (`ops`, used by the client, the
//! conformance engine and the simulator alike), token handling (`token`), sending one call and
//! observing it (`client`, over reqwest or the lean HTTP/1.1 client `h1`) and the XML→JSON
//! mapping (`xml`). It imports nothing from the rest of the crate.

pub mod client;
pub mod h1;
pub mod ops;
pub mod token;
pub mod xml;
