//! The built program starts and describes itself. Also why it is built here: cargo builds a
//! package's binaries for its integration tests, beside the unit-test builds, so the test
//! command's HTTP stages find `target/debug/oauth-front` made by `cargo test` (in parallel with
//! the rest) instead of a second, serial `cargo build`.

use std::process::Command;

#[test]
fn help_names_the_flags_a_newcomer_needs() {
    let out = Command::new(env!("CARGO_BIN_EXE_oauth-front"))
        .arg("--help")
        .output()
        .expect("run oauth-front --help");
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in ["--database-url", "--listen", "--public-url"] {
        assert!(help.contains(flag), "--help does not name {flag}:\n{help}");
    }
}

#[test]
fn an_unknown_flag_is_refused_with_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_oauth-front"))
        .arg("--no-such-flag")
        .output()
        .expect("run oauth-front --no-such-flag");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--no-such-flag"));
}
