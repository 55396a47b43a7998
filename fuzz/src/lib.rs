//! Shared pieces of the fuzz targets: an in-process app (the library's JSON API over a
//! `MemoryStore`, driven without a socket) and the checks every HTTP answer must pass.

pub mod world;

/// Text of `data` if it is UTF-8 (most parsers of the library take `&str`).
pub fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
