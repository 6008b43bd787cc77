//! Builds the services and the router for a configuration and runs them.
//!
//! The order of work: register metrics, create one service per module of the target (see
//! [`crate::modules`]), hand them to the [`ServiceManager`], build the router (admin endpoints,
//! request metrics and logging, the tenant resolver), then run until `stop` is cancelled or a
//! service fails. Shutdown stops the roles first and the HTTP server last, within
//! `server.graceful_shutdown_timeout`.

use std::sync::Arc;

use norn_common::service::{ManagerError, Service, ServiceManager, ServiceSpec};
use norn_http::{HttpMetrics, TenantResolver};
use norn_limits::{Overrides, RuntimeConfigMetrics, RuntimeConfigService};
use norn_model::TenantId;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::api::{self, AdminState};
use crate::config::RootConfig;
use crate::http_server::HttpServerService;
use crate::metrics::{ProcessCollector, ServiceStateCollector, register_build_info};
use crate::modules::{self, Module};

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

/// Creates the services and router for `config` without starting anything.
pub fn assemble(config: RootConfig) -> Result<Assembled, RunError> {
    let config = Arc::new(config);
    let mut registry = Registry::default();
    register_build_info(&mut registry);
    registry.register_collector(Box::new(ProcessCollector));
    let http_metrics = HttpMetrics::new(&mut registry);
    let runtime_metrics = RuntimeConfigMetrics::new(&mut registry);

    let overrides = Overrides::new(config.limits.clone());
    let address = config.server.listen_address().map_err(RunError::Config)?;
    let http = Arc::new(HttpServerService::new(address));
    let mut specs = Vec::new();
    for module in modules::modules_to_run(&config.target).map_err(RunError::Config)? {
        let service: Arc<dyn Service> = match module {
            Module::Server => Arc::clone(&http) as Arc<dyn Service>,
            Module::RuntimeConfig => Arc::new(RuntimeConfigService::new(
                config.runtime_config.clone(),
                overrides.clone(),
                runtime_metrics.clone(),
            )),
            Module::Distributor => Arc::new(norn_distributor::DistributorService),
            Module::Ingester => Arc::new(norn_ingester::IngesterService::new(
                &config.blocks_storage.tsdb.dir,
            )),
            Module::Querier => Arc::new(norn_querier::QuerierService),
            Module::QueryFrontend => Arc::new(norn_frontend::QueryFrontendService),
            Module::StoreGateway => Arc::new(norn_storegateway::StoreGatewayService::new(
                &config.blocks_storage.bucket_store.sync_dir,
            )),
            Module::Compactor => Arc::new(norn_compactor::CompactorService::new(&config.compactor)),
        };
        let dependencies: Vec<&str> = module.dependencies().iter().map(|m| m.name()).collect();
        specs.push(ServiceSpec::new(module.name(), &dependencies, service));
    }
    let manager = ServiceManager::new(specs)?;
    registry.register_collector(Box::new(ServiceStateCollector::new(manager.status())));

    let no_auth_tenant = TenantId::new(&config.no_auth_tenant)
        .map_err(|error| RunError::Config(format!("no_auth_tenant: {error}")))?;
    let resolver = TenantResolver::new(
        config.multitenancy_enabled,
        no_auth_tenant,
        config.tenant_federation.enabled,
    );
    let router = api::router(AdminState {
        config: Arc::clone(&config),
        status: manager.status(),
        registry: Arc::new(registry),
        overrides,
    })
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
