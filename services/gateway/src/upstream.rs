//! The routing table: which service answers which path prefix (ARCHITECTURE.md section 2).

/// A service behind the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `user-service`, ...
    pub name: &'static str,
    /// Base URL without a trailing slash; `None` when the service is not deployed.
    pub base_url: Option<String>,
}

/// Path prefixes and the service that owns them, and the env var with its URL and default.
pub const ROUTES: [(&str, &str); 7] = [
    ("/api/users", "user-service"),
    ("/api/events", "event-service"),
    ("/api/venues", "event-service"),
    ("/api/inventory", "inventory-service"),
    ("/api/bookings", "booking-service"),
    ("/api/payments", "payment-service"),
    ("/api/notifications", "notification-service"),
];

/// Every service, its URL variable and default port.
pub const SERVICES: [(&str, &str, u16); 6] = [
    ("user-service", "USER_SERVICE_URL", 3001),
    ("event-service", "EVENT_SERVICE_URL", 3002),
    ("booking-service", "BOOKING_SERVICE_URL", 3003),
    ("inventory-service", "INVENTORY_SERVICE_URL", 3004),
    ("payment-service", "PAYMENT_SERVICE_URL", 3005),
    ("notification-service", "NOTIFICATION_SERVICE_URL", 3006),
];

/// Whether `path` is `prefix` or below it, at a segment boundary (`/api/usersX` is not under
/// `/api/users`).
pub fn is_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The deployed services and the prefix table.
#[derive(Debug, Clone)]
pub struct RoutingTable {
    upstreams: Vec<Upstream>,
}

impl RoutingTable {
    pub fn new(upstreams: Vec<Upstream>) -> Self {
        Self { upstreams }
    }

    /// Every known service, deployed or not.
    pub fn upstreams(&self) -> &[Upstream] {
        &self.upstreams
    }

    /// The deployed services, each with its base URL (what `/health/all` and `/openapi.json` ask).
    pub fn deployed(&self) -> impl Iterator<Item = (&'static str, &str)> + '_ {
        self.upstreams
            .iter()
            .filter_map(|u| u.base_url.as_deref().map(|url| (u.name, url)))
    }

    /// The service owning `path`: the prefix must end at a segment boundary, so
    /// `/api/usersX` is not user-service's.
    pub fn resolve(&self, path: &str) -> Option<&Upstream> {
        let (_, name) = ROUTES.iter().find(|(prefix, _)| is_under(path, prefix))?;
        self.upstreams.iter().find(|u| u.name == *name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RoutingTable {
        RoutingTable::new(
            SERVICES
                .iter()
                .map(|(name, _, port)| Upstream {
                    name,
                    base_url: Some(format!("http://127.0.0.1:{port}")),
                })
                .collect(),
        )
    }

    #[test]
    fn prefixes_resolve_on_segment_boundaries() {
        let table = table();
        assert_eq!(
            table.resolve("/api/users/login").unwrap().name,
            "user-service"
        );
        assert_eq!(table.resolve("/api/venues").unwrap().name, "event-service");
        assert_eq!(
            table.resolve("/api/inventory/events/x/seats").unwrap().name,
            "inventory-service"
        );
        assert!(table.resolve("/api/usersX").is_none());
        assert!(table.resolve("/admin").is_none());
    }
}
