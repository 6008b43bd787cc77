//! The module graph behind `-target`, after Mimir's `modules.go`.
//!
//! A target names roles (`ingester`) or groups of roles (`all`, `write`, `read`, `backend`).
//! Every target also runs the modules the roles depend on: the HTTP `server` (started first and
//! stopped last, so `/ready` answers while roles start and while they stop) and
//! `runtime-config` (per-tenant overrides must be loaded before a role serves a tenant). The
//! roles that place or find series (distributor, ingester, querier) also need `ring`, which
//! loads the hash rings from the KV store and keeps them current.

use std::collections::BTreeSet;

/// One module: a service the process can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    /// The HTTP server every process runs.
    Server,
    /// The runtime configuration poller (per-tenant overrides).
    RuntimeConfig,
    /// The hash rings' clients: the KV store and the ring views the roles read.
    Ring,
    /// The distributor role.
    Distributor,
    /// The ingester role.
    Ingester,
    /// The querier role.
    Querier,
    /// The query-frontend role.
    QueryFrontend,
    /// The store-gateway role.
    StoreGateway,
    /// The compactor role.
    Compactor,
}

/// The roles `all` runs.
pub const ALL_ROLES: &[Module] = &[
    Module::Distributor,
    Module::Ingester,
    Module::Querier,
    Module::QueryFrontend,
    Module::StoreGateway,
    Module::Compactor,
];

impl Module {
    /// Returns the module's name as `-target` and `/services` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Module::Server => "server",
            Module::RuntimeConfig => "runtime-config",
            Module::Ring => "ring",
            Module::Distributor => "distributor",
            Module::Ingester => "ingester",
            Module::Querier => "querier",
            Module::QueryFrontend => "query-frontend",
            Module::StoreGateway => "store-gateway",
            Module::Compactor => "compactor",
        }
    }

    /// Returns the modules this one needs running before it starts.
    pub fn dependencies(self) -> &'static [Module] {
        match self {
            Module::Server | Module::RuntimeConfig | Module::Ring => &[],
            Module::Distributor | Module::Ingester | Module::Querier => {
                &[Module::Server, Module::RuntimeConfig, Module::Ring]
            }
            _ => &[Module::Server, Module::RuntimeConfig],
        }
    }
}

fn group(name: &str) -> Option<&'static [Module]> {
    match name {
        "all" => Some(ALL_ROLES),
        "write" => Some(&[Module::Distributor, Module::Ingester]),
        "read" => Some(&[Module::QueryFrontend, Module::Querier]),
        "backend" => Some(&[Module::StoreGateway, Module::Compactor]),
        _ => None,
    }
}

/// Parses a `-target` value into the roles it names (without their dependencies).
pub fn parse_target(target: &str) -> Result<BTreeSet<Module>, String> {
    let mut roles = BTreeSet::new();
    for name in target.split(',').map(str::trim) {
        if name.is_empty() {
            continue;
        }
        if let Some(members) = group(name) {
            roles.extend(members.iter().copied());
            continue;
        }
        match ALL_ROLES.iter().find(|role| role.name() == name) {
            Some(role) => {
                roles.insert(*role);
            }
            None => {
                let valid: Vec<&str> = ["all", "write", "read", "backend"]
                    .into_iter()
                    .chain(ALL_ROLES.iter().map(|role| role.name()))
                    .collect();
                return Err(format!(
                    "target (-target) names unknown module {name:?}; valid modules: {}",
                    valid.join(", ")
                ));
            }
        }
    }
    if roles.is_empty() {
        return Err("target (-target) is empty; use all or a comma-separated list of roles".into());
    }
    Ok(roles)
}

/// Returns the roles of `target` plus every module they depend on.
pub fn modules_to_run(target: &str) -> Result<BTreeSet<Module>, String> {
    let mut modules = parse_target(target)?;
    let mut pending: Vec<Module> = modules.iter().copied().collect();
    while let Some(module) = pending.pop() {
        for dependency in module.dependencies() {
            if modules.insert(*dependency) {
                pending.push(*dependency);
            }
        }
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(target: &str) -> Vec<&'static str> {
        modules_to_run(target)
            .unwrap()
            .into_iter()
            .map(Module::name)
            .collect()
    }

    #[test]
    fn groups_and_single_roles_expand_with_dependencies() {
        assert_eq!(
            names("all"),
            [
                "server",
                "runtime-config",
                "ring",
                "distributor",
                "ingester",
                "querier",
                "query-frontend",
                "store-gateway",
                "compactor"
            ]
        );
        assert_eq!(
            names("ingester"),
            ["server", "runtime-config", "ring", "ingester"]
        );
        assert_eq!(
            names("write,compactor"),
            [
                "server",
                "runtime-config",
                "ring",
                "distributor",
                "ingester",
                "compactor"
            ]
        );
        assert_eq!(
            names("read"),
            [
                "server",
                "runtime-config",
                "ring",
                "querier",
                "query-frontend"
            ]
        );
        assert_eq!(
            names("backend"),
            ["server", "runtime-config", "store-gateway", "compactor"]
        );
    }

    #[test]
    fn unknown_and_empty_targets_are_explained() {
        let error = parse_target("ingester,ruler").unwrap_err();
        assert!(
            error.contains("\"ruler\"") && error.contains("valid modules"),
            "{error}"
        );
        assert!(parse_target(" , ").unwrap_err().contains("empty"));
        assert!(
            parse_target("server").is_err(),
            "internal modules are not targets"
        );
    }
}
