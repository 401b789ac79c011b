//! Regenerates the committed token vectors in `tests/vectors/` from fixed seeds.
//!
//! ```sh
//! cargo run -p ak-token --example gen_vectors
//! ```
//!
//! `tests/vectors.rs` fails if the committed files differ from a fresh generation.

#[path = "../tests/vector_gen/mod.rs"]
mod vector_gen;

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["tests/vectors/valid", "tests/vectors/invalid"] {
        let dir = root.join(dir);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        std::fs::create_dir_all(&dir)?;
    }
    let files = vector_gen::generate();
    for (path, contents) in &files {
        std::fs::write(root.join(path), contents)?;
    }
    println!("wrote {} files", files.len());
    Ok(())
}
