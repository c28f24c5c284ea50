//! Re-exports Wasmtime's C API so that `cargo build` makes one static library of it.
pub use wasmtime_c_api::*;
