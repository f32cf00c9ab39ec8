//! Running the gmpsim binary in tests, shared by the CLI test files.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// `gmpsim ARGS...`.
pub fn gmpsim(args: &[&str]) -> Output {
    gmpsim_env(args, &[])
}

/// `gmpsim ARGS...` with extra environment variables.
pub fn gmpsim_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gmpsim"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("gmpsim runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A path named `name` in this test process's own scratch directory.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gmpsim-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}
