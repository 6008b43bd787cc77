//! Builds the services and the router for a configuration and runs them.
//!
//! The order of work: register metrics, create one service per module of the target (see
//! [`crate::modules`]), hand them to the [`ServiceManager`], build the router (admin endpoints,
//! request metrics and logging, the tenant resolver), then run until `stop` is cancelled or a
//! service fails. Shutdown stops the roles first and the HTTP server last, within
//! `server.graceful_shutdown_timeout`.

use std::sync::Arc;

use axum::Router;
use norn_common::service::{ManagerError, Service, ServiceManager, ServiceSpec};
use norn_common::time::now_ms;
use norn_distributor::distributor::Distributor;
use norn_distributor::ha_tracker::HaTracker;
use norn_distributor::metrics::DistributorMetrics;
use norn_distributor::service::DistributorService;
use norn_http::{HttpMetrics, TenantResolver};
use norn_ingester::limiter::RingShape;
use norn_ingester::metrics::IngesterCollector;
use norn_ingester::{Ingester, IngesterService};
use norn_limits::{DiscardMetrics, Overrides, RuntimeConfigMetrics, RuntimeConfigService};
use norn_model::TenantId;
use norn_querier::{BuildInfo, IngesterQuerier, QuerierMetrics, QueryApi};
use norn_ring::{DISTRIBUTOR_RING_KEY, INGESTER_RING_KEY, InMemoryKv, Kv, Lifecycler, Operation};
use norn_rpc::IngesterPool;
use norn_tsdb::metrics::TsdbCollector;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AdminState};
use crate::config::RootConfig;
use crate::http_server::HttpServerService;
use crate::metrics::{ProcessCollector, ServiceStateCollector, register_build_info};
use crate::modules::{self, Module};
use crate::rings::{self, RingPage, RingsService};

/// Why Norn could not run or did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The configuration does not describe a runnable process.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A service failed or shutdown overran its deadline.
    #[error(transparent)]
    Services(#[from] ManagerError),
}

/// A process ready to run: its services and the handles tests and the binary need.
#[derive(Debug)]
pub struct Assembled {
    manager: ServiceManager,
    http: Arc<HttpServerService>,
    shutdown_deadline: std::time::Duration,
}

impl Assembled {
    /// Returns the HTTP server (for its bound address once started).
    pub fn http(&self) -> Arc<HttpServerService> {
        Arc::clone(&self.http)
    }

    /// Returns the status view of every service.
    pub fn status(&self) -> norn_common::service::ServiceStatus {
        self.manager.status()
    }

    /// Runs until `stop` is cancelled or a service fails.
    pub async fn run(self, stop: CancellationToken) -> Result<(), RunError> {
        Ok(self.manager.run(stop, self.shutdown_deadline).await?)
    }
}

/// The default of `api.prometheus_http_prefix` (Mimir's `-http.prometheus-http-prefix`): where
/// the Prometheus-compatible read API lives.
pub const PROMETHEUS_PREFIX: &str = "/prometheus";

/// What the query API's `status/buildinfo` reports for this binary.
fn build_info() -> BuildInfo {
    BuildInfo {
        version: crate::VERSION.to_owned(),
        revision: crate::REVISION.to_owned(),
        toolchain: crate::RUSTC_VERSION.to_owned(),
        ..BuildInfo::default()
    }
}

/// Creates the services and router for `config` without starting anything.
pub fn assemble(config: RootConfig) -> Result<Assembled, RunError> {
    let config = Arc::new(config);
    let mut registry = Registry::default();
    register_build_info(&mut registry);
    registry.register_collector(Box::new(ProcessCollector));
    let http_metrics = HttpMetrics::new(&mut registry);
    let runtime_metrics = RuntimeConfigMetrics::new(&mut registry);
    let discards = DiscardMetrics::new(&mut registry);

    let overrides = Overrides::new(config.limits.clone());
    let address = config.server.listen_address().map_err(RunError::Config)?;
    let http = Arc::new(HttpServerService::new(address));
    let modules = modules::modules_to_run(&config.target).map_err(RunError::Config)?;

    // One KV store holds every ring of this process; cluster backends replace it.
    let kv: Arc<dyn Kv> = Arc::new(InMemoryKv::new());
    let ingester_ring = Arc::new(
        config
            .ingester
            .ring
            .ring_client(Arc::clone(&kv), INGESTER_RING_KEY),
    );
    let distributor_ring = Arc::new(
        config
            .distributor
            .ring
            .ring_client(Arc::clone(&kv), DISTRIBUTOR_RING_KEY),
    );
    let pool = Arc::new(IngesterPool::new());
    let mut routes = Router::new();

    let mut specs = Vec::new();
    for module in modules.iter().copied() {
        let service: Arc<dyn Service> = match module {
            Module::Server => Arc::clone(&http) as Arc<dyn Service>,
            Module::RuntimeConfig => Arc::new(RuntimeConfigService::new(
                config.runtime_config.clone(),
                overrides.clone(),
                runtime_metrics.clone(),
            )),
            Module::Ring => Arc::new(RingsService::new(vec![
                Arc::clone(&ingester_ring),
                Arc::clone(&distributor_ring),
            ])),
            Module::Distributor => {
                let ha_tracker = config.distributor.ha_tracker.enable_ha_tracker.then(|| {
                    Arc::new(HaTracker::new(
                        config.distributor.ha_tracker.clone(),
                        Arc::clone(&kv),
                        &mut registry,
                    ))
                });
                let distributor = Arc::new(Distributor::new(
                    config.distributor.clone(),
                    overrides.clone(),
                    Arc::clone(&ingester_ring),
                    Some(Arc::clone(&distributor_ring)),
                    Arc::clone(&pool),
                    ha_tracker,
                    DistributorMetrics::new(&mut registry),
                    discards.clone(),
                ));
                routes = routes.merge(norn_distributor::http::routes(Arc::clone(&distributor)));
                let lifecycler = Arc::new(Lifecycler::new(
                    config
                        .distributor
                        .ring
                        .lifecycler_config(DISTRIBUTOR_RING_KEY),
                    Arc::clone(&kv),
                ));
                Arc::new(DistributorService::new(distributor, lifecycler))
            }
            Module::Ingester => {
                let ring = Arc::clone(&ingester_ring);
                let ring_shape: RingShape = Arc::new(move || {
                    let ring = ring.ring();
                    (
                        ring.healthy_instance_count(Operation::Write, now_ms()),
                        ring.replication_factor(),
                    )
                });
                let ingester = Ingester::new(
                    config.ingester.clone(),
                    config.blocks_storage.tsdb.clone(),
                    overrides.clone(),
                    ring_shape,
                    discards.clone(),
                );
                pool.register_local(
                    &config.ingester.ring.resolved_instance_id(),
                    Arc::new(ingester.clone()),
                );
                registry.register_collector(Box::new(IngesterCollector::new(ingester.clone())));
                let dbs = ingester.clone();
                registry
                    .register_collector(Box::new(TsdbCollector::new(Arc::new(move || dbs.dbs()))));
                let lifecycler = Arc::new(Lifecycler::new(
                    config.ingester.ring.lifecycler_config(INGESTER_RING_KEY),
                    Arc::clone(&kv),
                ));
                let service = Arc::new(IngesterService::new(ingester, lifecycler));
                routes = routes.merge(norn_ingester::http::routes(Arc::clone(&service)));
                service
            }
            Module::Querier => {
                let ingesters = Arc::new(IngesterQuerier::new(
                    Arc::clone(&ingester_ring),
                    Arc::clone(&pool),
                ));
                let prefix = config.api.prometheus_prefix();
                routes = routes.merge(norn_querier::routes(Arc::clone(&ingesters), prefix));
                let api = Arc::new(QueryApi::new(
                    config.querier.clone(),
                    ingesters,
                    overrides.clone(),
                    QuerierMetrics::new(&mut registry),
                    build_info(),
                ));
                routes = routes.merge(norn_querier::api::routes(api, prefix));
                Arc::new(norn_querier::QuerierService)
            }
            Module::QueryFrontend => Arc::new(norn_frontend::QueryFrontendService),
            Module::StoreGateway => Arc::new(norn_storegateway::StoreGatewayService::new(
                &config.blocks_storage.bucket_store.sync_dir,
            )),
            Module::Compactor => Arc::new(norn_compactor::CompactorService::new(&config.compactor)),
        };
        let dependencies: Vec<&str> = module.dependencies().iter().map(|m| m.name()).collect();
        specs.push(ServiceSpec::new(module.name(), &dependencies, service));
    }
    if modules.contains(&Module::Distributor) || modules.contains(&Module::Ingester) {
        routes = routes.merge(rings::page_routes(RingPage {
            title: "Ingester ring",
            path: "/ingester/ring",
            client: Arc::clone(&ingester_ring),
            kv: Arc::clone(&kv),
        }));
    }
    if modules.contains(&Module::Distributor) {
        routes = routes.merge(rings::page_routes(RingPage {
            title: "Distributor ring",
            path: "/distributor/ring",
            client: Arc::clone(&distributor_ring),
            kv: Arc::clone(&kv),
        }));
    }
    let manager = ServiceManager::new(specs)?;
    registry.register_collector(Box::new(ServiceStateCollector::new(manager.status())));

    let no_auth_tenant = TenantId::new(&config.no_auth_tenant)
        .map_err(|error| RunError::Config(format!("no_auth_tenant: {error}")))?;
    let resolver = TenantResolver::new(
        config.multitenancy_enabled,
        no_auth_tenant,
        config.tenant_federation.enabled,
    )
    .with_credentials(overrides.credential_source(config.auth.credentials.clone()));
    let router = api::router(AdminState {
        config: Arc::clone(&config),
        status: manager.status(),
        registry: Arc::new(registry),
        overrides: overrides.clone(),
    })
    .merge(routes)
    .layer(axum::Extension(resolver))
    .layer(axum::middleware::from_fn_with_state(
        http_metrics,
        norn_http::middleware::observe,
    ));
    http.set_router(router);
    Ok(Assembled {
        manager,
        http,
        shutdown_deadline: config.server.graceful_shutdown_timeout.get(),
    })
}

/// Runs Norn with `config` until `stop` is cancelled or a service fails.
pub async fn run(config: RootConfig, stop: CancellationToken) -> Result<(), RunError> {
    assemble(config)?.run(stop).await
}
