//! The ak fuzz targets' bodies. Each `fuzz_targets/<name>.rs` is a thin `fuzz_target!` over the
//! function of the same name in [`targets`]; the workspace test `benches/tests/fuzz_corpora.rs`
//! replays every file of `fuzz/corpus/<name>/` through the same functions.

pub mod targets;
