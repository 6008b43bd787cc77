//! The `norn` binary as a user runs it: a child process on 127.0.0.1 in a temporary working
//! directory, stopped by signals. Covers the two-command promise (start with defaults, data in
//! the working directory, `/ready`), bad input (exit non-zero before binding, one line naming
//! the problem) and shutdown on SIGTERM/SIGINT.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::TcpStream;
use std::time::Duration;

use norn_e2e::{NornProcess, free_port, get, run_to_exit};

const NORN: &str = env!("CARGO_BIN_EXE_norn");

#[test]
fn starts_with_defaults_keeps_data_in_the_working_directory_and_stops_on_sigterm() {
    let mut norn = NornProcess::start(NORN, &[], |_| {});
    assert!(norn.wait_ready(), "norn never became ready");
    let ready = get(norn.address, "/ready").unwrap();
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));
    for dir in ["tsdb", "tsdb-sync", "data-compactor"] {
        assert!(
            norn.workdir.path().join(dir).is_dir(),
            "{dir} missing in the working directory"
        );
    }
    let config = get(norn.address, "/config?mode=diff").unwrap();
    assert_eq!(config.status, 200);
    assert!(
        config.body.contains("http_listen_address: 127.0.0.1"),
        "{}",
        config.body
    );
    norn.signal("TERM");
    let (code, stderr) = norn.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("received signal, shutting down"),
        "{stderr}"
    );
    assert!(stderr.contains("norn stopped"), "{stderr}");
    assert!(
        stderr.contains("level=info"),
        "logfmt is the default format: {stderr}"
    );
}

#[test]
fn sigint_stops_too_and_json_logs_are_json() {
    let mut norn = NornProcess::start(NORN, &["-log.format=json", "-target=write"], |_| {});
    assert!(norn.wait_ready());
    let services = get(norn.address, "/services").unwrap();
    assert!(
        services.body.contains("distributor Running") && !services.body.contains("querier"),
        "{}",
        services.body
    );
    norn.signal("INT");
    let (code, stderr) = norn.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(0), "{stderr}");
    for line in stderr.lines().filter(|line| !line.is_empty()) {
        let parsed: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(parsed.get("level").is_some(), "{line}");
    }
}

#[test]
fn bad_configuration_exits_before_binding_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.yaml"),
        "server:\n  http_listen_port: 9009\n  htp_listen_port: 1\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("runtime.yaml"),
        "overrides:\n  t1:\n    ingestion_rate: lots\n",
    )
    .unwrap();
    let port = free_port();
    let port_flag = format!("-server.http-listen-port={port}");
    for (args, expected) in [
        (
            vec!["-server.http-listen-prot=1"],
            "flag provided but not defined: -server.http-listen-prot",
        ),
        (
            vec!["-server.http-listen-port=65536"],
            "between 0 and 65535",
        ),
        (
            vec!["-server.http-listen-port", "http"],
            "invalid value \"http\" for flag -server.http-listen-port",
        ),
        (
            vec!["-config.file=bad.yaml"],
            "unknown field `htp_listen_port`",
        ),
        (
            vec!["-config.file=missing.yaml"],
            "cannot read config file missing.yaml",
        ),
        (
            vec![port_flag.as_str(), "-log.level=loud"],
            "server.log_level (-log.level)",
        ),
    ] {
        let (code, stdout, stderr) = run_to_exit(NORN, dir.path(), &args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert_eq!(
            stderr.trim().lines().count(),
            1,
            "{args:?}: one line expected, got {stderr}"
        );
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing may listen after a config error"
    );
    // A broken runtime file is found at start-up and also stops the process.
    let (code, _, stderr) = run_to_exit(
        NORN,
        dir.path(),
        &[
            "-server.http-listen-address=127.0.0.1",
            &format!("-server.http-listen-port={}", free_port()),
            "-runtime-config.file=runtime.yaml",
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("runtime-config failed") && stderr.contains("ingestion_rate"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("tsdb").exists(),
        "roles never started: {stderr}"
    );
}

#[test]
fn a_port_in_use_is_reported() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_to_exit(
        NORN,
        dir.path(),
        &[
            "-server.http-listen-address=127.0.0.1",
            &format!("-server.http-listen-port={port}"),
        ],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn help_and_version_print_and_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run_to_exit(NORN, dir.path(), &["-help"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("-server.http-listen-port int") && stdout.contains("(default 8080)"),
        "{stdout}"
    );
    let (code, stdout, _) = run_to_exit(NORN, dir.path(), &["-version"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with("norn, version "), "{stdout}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "-help and -version write nothing"
    );
}
