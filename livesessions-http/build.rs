//! Turns on the `livesessions_test_mongodb` cfg when `LIVESESSIONS_TEST_MONGODB_URI` is set, so
//! that the tests which need a MongoDB server are compiled as ignored (with the reason) without
//! one, and run when it is given. Cargo runs this again whenever the variable changes.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(livesessions_test_mongodb)");
    println!("cargo::rerun-if-env-changed=LIVESESSIONS_TEST_MONGODB_URI");
    if std::env::var_os("LIVESESSIONS_TEST_MONGODB_URI").is_some_and(|uri| !uri.is_empty()) {
        println!("cargo::rustc-cfg=livesessions_test_mongodb");
    }
}
