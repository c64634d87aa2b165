//! The example server's binary, as built by cargo next to the tests.

use std::path::{Path, PathBuf};

/// The example server binary (`<target>/<profile>/examples/server`), found next to the running
/// test's executable so that `CARGO_TARGET_DIR` is honoured; `LIVESESSIONS_EXAMPLE_SERVER`
/// names another binary. A binary older than the sources it is built from fails the test
/// rather than testing old code.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LIVESESSIONS_EXAMPLE_SERVER") {
        return PathBuf::from(path);
    }
    // <target>/<profile>/deps/example_server-<hash> → <target>/<profile>/examples/server
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target>/<profile>/deps");
    let binary = profile_dir.join("examples").join("server");
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing: build it with `cargo build --example server` \
                 (`cargo test` without a target filter does so)",
                binary.display()
            )
        });
    // Cargo's own list of the files the binary was built from.
    let sources =
        std::fs::read_to_string(profile_dir.join("examples").join("server.d")).unwrap_or_default();
    for file in dep_info_files(&sources) {
        if let Ok(changed) = std::fs::metadata(&file).and_then(|m| m.modified()) {
            assert!(
                changed <= built,
                "{} is older than {}: rebuild it with `cargo build --example server`",
                binary.display(),
                file.display()
            );
        }
    }
    binary
}

/// The prerequisites of a Makefile-style dep-info file (`target: a.rs b\ c.rs`).
fn dep_info_files(text: &str) -> Vec<PathBuf> {
    let Some(line) = text.lines().next() else {
        return Vec::new();
    };
    let Some((_, deps)) = line.split_once(": ") else {
        return Vec::new();
    };
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = deps.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ' ' => {
                if !current.is_empty() {
                    files.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(PathBuf::from(current));
    }
    files
}
