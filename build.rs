//! Tells the root package's tests which external servers they were given, so that a test
//! without its server shows as ignored in cargo's counts (with the reason) instead of passing
//! without having run. In CI (`CI=true`) every such test is compiled in, and a missing server
//! fails it.
//!
//! - `livesessions_test_postgres`: `LIVESESSIONS_TEST_POSTGRES_URL` is set.
//! - `livesessions_test_fault_postgres`: `LIVESESSIONS_TEST_FAULT_POSTGRES_URL` is set (a
//!   cluster the fault test may stop: `scripts/fault-cluster.sh start` makes one).
//! - `livesessions_test_mongodb`: `LIVESESSIONS_TEST_MONGODB_URI` is set (the cfg
//!   livesessions-mongo's tests use too).
//! - `livesessions_test_axe`: `LIVESESSIONS_TEST_AXE` names axe-core's `axe.min.js` for the
//!   accessibility browser test (`scripts/axe.sh path` installs it and prints the path).
//! - `livesessions_test_nginx`: `LIVESESSIONS_TEST_NGINX` names the nginx binary for the
//!   deployment test (three server processes behind nginx).
//! - `livesessions_test_secantus`: SecantusDB is installed in `.venv-secantus` (or
//!   `$SECANTUS_VENV`), so the MongoDB fault test can start and stop a server of its own
//!   (`scripts/secantus.sh install`). Checked when the package is built: after installing it,
//!   a change of `LIVESESSIONS_TEST_MONGODB_URI` or of this file rebuilds.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let ci = std::env::var("CI").as_deref() == Ok("true");
    println!("cargo:rerun-if-env-changed=CI");
    for (variable, cfg) in [
        (
            "LIVESESSIONS_TEST_POSTGRES_URL",
            "livesessions_test_postgres",
        ),
        (
            "LIVESESSIONS_TEST_FAULT_POSTGRES_URL",
            "livesessions_test_fault_postgres",
        ),
        ("LIVESESSIONS_TEST_MONGODB_URI", "livesessions_test_mongodb"),
        ("LIVESESSIONS_TEST_AXE", "livesessions_test_axe"),
        ("LIVESESSIONS_TEST_NGINX", "livesessions_test_nginx"),
    ] {
        println!("cargo:rerun-if-env-changed={variable}");
        println!("cargo:rustc-check-cfg=cfg({cfg})");
        let set = std::env::var_os(variable).is_some_and(|value| !value.is_empty());
        if set || ci {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    println!("cargo:rerun-if-env-changed=SECANTUS_VENV");
    println!("cargo:rustc-check-cfg=cfg(livesessions_test_secantus)");
    let venv = std::env::var("SECANTUS_VENV").unwrap_or_else(|_| ".venv-secantus".into());
    let server = std::path::Path::new(&venv).join("bin/secantusd-py");
    if server.exists() {
        // Watched only while it exists: a missing path would rerun this script (and rebuild
        // the package) on every build.
        println!("cargo:rerun-if-changed={}", server.display());
    }
    if server.exists() || ci {
        println!("cargo:rustc-cfg=livesessions_test_secantus");
    }
}
