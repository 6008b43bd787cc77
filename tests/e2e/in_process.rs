//! A whole Norn node (`-target=all`) run in-process on its own runtime, on a free loopback
//! port with every directory in a temporary folder. The write-API and query-API tests build
//! their request helpers on top of it.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use norn_e2e::{request, wait_for};
use norn_server::RootConfig;
use norn_server::run::assemble;
use tokio_util::sync::CancellationToken;

/// A running node; stopped (and its directory removed) on drop, failing the test if it
/// stopped with an error or took longer than 20s.
pub(crate) struct InProcessNode {
    /// Where its HTTP server listens.
    pub(crate) address: SocketAddr,
    stop: CancellationToken,
    running: Option<tokio::task::JoinHandle<Result<(), norn_server::RunError>>>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// Points every directory of `config` into `dir` and listens on a free loopback port.
fn place_in(config: &mut RootConfig, dir: &Path) {
    config.server.http_listen_address = "127.0.0.1".into();
    config.server.http_listen_port = 0;
    config.blocks_storage.filesystem.dir = dir.join("blocks").display().to_string();
    config.blocks_storage.tsdb.dir = dir.join("tsdb").display().to_string();
    config.blocks_storage.bucket_store.sync_dir = dir.join("tsdb-sync").display().to_string();
    config.compactor.data_dir = dir.join("data-compactor").display().to_string();
}

impl InProcessNode {
    /// Starts a node from `config` changed by `configure` (which may write files, such as a
    /// runtime configuration, into the node's directory), and waits until every service runs
    /// and the ingester is ACTIVE in the ring.
    pub(crate) fn start(
        mut config: RootConfig,
        configure: impl FnOnce(&mut RootConfig, &Path),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        place_in(&mut config, dir.path());
        configure(&mut config, dir.path());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let stop = CancellationToken::new();
        let (status, http, running) = {
            let _entered = runtime.enter();
            let node = assemble(config).unwrap();
            let status = node.status();
            let http = node.http();
            let running = runtime.spawn(node.run(stop.clone()));
            (status, http, running)
        };
        assert!(
            runtime.block_on(status.wait_until_running()),
            "node did not start: {:?}",
            status.states()
        );
        let address = http.local_address().expect("bound once running");
        let node = Self {
            address,
            stop,
            running: Some(running),
            runtime,
            _dir: dir,
        };
        let active = wait_for(Duration::from_secs(10), || {
            let ring = request(
                address,
                "GET",
                "/ingester/ring",
                &[("Accept", "application/json")],
                b"",
            )
            .ok()?;
            ring.body.contains("\"state\":\"ACTIVE\"").then_some(())
        });
        assert!(active.is_some(), "the ingester never became ACTIVE");
        node
    }
}

impl Drop for InProcessNode {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(running) = self.running.take() {
            let stopped = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(20), running).await });
            if !std::thread::panicking() {
                let result = stopped.expect("node stopped within 20s").unwrap();
                assert!(result.is_ok(), "node failed: {result:?}");
            }
        }
    }
}
