//! Routing: picks the route for a normalised request. Prefixes match whole segments (`/api` never
//! matches `/apix`); the longest prefix wins; among equal prefixes a route with a host beats one
//! without, then file order decides.

use std::borrow::Cow;
use std::sync::Arc;

use gatehouse_config::RouteConfig;
use http::Method;

/// A route ready for matching.
#[derive(Debug)]
pub struct Route {
    /// The validated configuration.
    pub config: RouteConfig,
    /// Position in the configuration file, which indexes per-route state such as metrics.
    pub index: usize,
}

impl Route {
    /// The forwarded path: the matched prefix replaced by the rewrite prefix, if any.
    pub fn rewrite<'a>(&self, path: &'a str) -> Cow<'a, str> {
        let Some(replacement) = &self.config.rewrite_prefix else {
            return Cow::Borrowed(path);
        };
        let rest = if self.config.prefix == "/" {
            path
        } else {
            &path[self.config.prefix.len()..]
        };
        match (replacement.as_str(), rest) {
            ("/", "") => Cow::Borrowed("/"),
            ("/", rest) => Cow::Borrowed(rest),
            (replacement, "/") if self.config.prefix == "/" => Cow::Owned(replacement.to_owned()),
            (replacement, rest) => Cow::Owned(format!("{replacement}{rest}")),
        }
    }

    fn matches_path(&self, path: &str) -> bool {
        let prefix = self.config.prefix.as_str();
        prefix == "/"
            || path == prefix
            || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
    }

    fn matches_host(&self, host: Option<&str>) -> bool {
        match (&self.config.host, host) {
            (None, _) => true,
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
        }
    }

    fn matches_method(&self, method: &Method) -> bool {
        self.config.methods.is_empty() || self.config.methods.contains(method)
    }
}

/// The outcome of routing one request.
#[derive(Debug)]
pub enum RouteMatch {
    /// A route takes the request.
    Found(Arc<Route>),
    /// Routes match the path but none the method; `allow` lists the methods that would.
    MethodNotAllowed {
        /// Methods accepted on this path.
        allow: Vec<Method>,
    },
    /// No route matches.
    NotFound,
}

/// The route table of one configuration generation.
#[derive(Debug, Default)]
pub struct Router {
    routes: Vec<Arc<Route>>,
}

impl Router {
    /// Builds the table; the order of `routes` breaks ties between otherwise equal routes.
    pub fn new(routes: &[RouteConfig]) -> Self {
        let mut routes: Vec<(usize, Arc<Route>)> = routes
            .iter()
            .cloned()
            .enumerate()
            .map(|(index, config)| (index, Arc::new(Route { config, index })))
            .collect();
        routes.sort_by(|(ia, a), (ib, b)| {
            b.config
                .prefix
                .len()
                .cmp(&a.config.prefix.len())
                .then(b.config.host.is_some().cmp(&a.config.host.is_some()))
                .then(ia.cmp(ib))
        });
        Router {
            routes: routes.into_iter().map(|(_, r)| r).collect(),
        }
    }

    /// Finds the route for a normalised path, a host (lower case, no port) and a method.
    pub fn find(&self, host: Option<&str>, path: &str, method: &Method) -> RouteMatch {
        let mut allow: Vec<Method> = Vec::new();
        let mut longest_path_match: Option<usize> = None;
        for route in &self.routes {
            if !route.matches_host(host) || !route.matches_path(path) {
                continue;
            }
            // Only routes as specific as the first path match compete; a shorter prefix must
            // not answer a method the longer prefix refused.
            let len = route.config.prefix.len();
            if *longest_path_match.get_or_insert(len) != len {
                break;
            }
            if route.matches_method(method) {
                return RouteMatch::Found(route.clone());
            }
            allow.extend(route.config.methods.iter().cloned());
        }
        if longest_path_match.is_some() {
            allow.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            allow.dedup();
            RouteMatch::MethodNotAllowed { allow }
        } else {
            RouteMatch::NotFound
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, prefix: &str, host: Option<&str>, methods: &[Method]) -> RouteConfig {
        RouteConfig {
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            host: host.map(str::to_owned),
            methods: methods.to_vec(),
            upstream: 0,
            rewrite_prefix: None,
            max_body_bytes: 1024,
            request_timeout: None,
            auth: gatehouse_auth::RoutePolicy::public(),
            forward_authorization: false,
        }
    }

    fn name(m: RouteMatch) -> String {
        match m {
            RouteMatch::Found(r) => r.config.name.clone(),
            RouteMatch::MethodNotAllowed { allow } => format!("405 {allow:?}"),
            RouteMatch::NotFound => "404".to_owned(),
        }
    }

    #[test]
    fn longest_segment_aware_prefix_wins() {
        let router = Router::new(&[
            route("root", "/", None, &[]),
            route("api", "/api", None, &[]),
            route("orders", "/api/orders", None, &[]),
            route("orders-host", "/api/orders", Some("shop.example"), &[]),
        ]);
        let get = Method::GET;
        assert_eq!(name(router.find(None, "/api", &get)), "api");
        assert_eq!(name(router.find(None, "/api/", &get)), "api");
        assert_eq!(name(router.find(None, "/apix", &get)), "root");
        assert_eq!(name(router.find(None, "/api/orders/7", &get)), "orders");
        assert_eq!(name(router.find(None, "/api/ordersx", &get)), "api");
        assert_eq!(
            name(router.find(Some("shop.example"), "/api/orders", &get)),
            "orders-host"
        );
        assert_eq!(
            name(router.find(Some("other"), "/api/orders", &get)),
            "orders"
        );
    }

    #[test]
    fn methods() {
        let router = Router::new(&[
            route("read", "/items", None, &[Method::GET]),
            route("write", "/items", None, &[Method::POST, Method::PUT]),
            route("fallback", "/", None, &[]),
        ]);
        assert_eq!(name(router.find(None, "/items", &Method::POST)), "write");
        assert_eq!(
            name(router.find(None, "/items/1", &Method::DELETE)),
            "405 [GET, POST, PUT]"
        );
        assert_eq!(
            name(router.find(None, "/other", &Method::DELETE)),
            "fallback"
        );
    }

    #[test]
    fn no_match() {
        let router = Router::new(&[route("api", "/api", Some("a.example"), &[])]);
        assert_eq!(name(router.find(None, "/api", &Method::GET)), "404");
        assert_eq!(
            name(router.find(Some("a.example"), "/x", &Method::GET)),
            "404"
        );
    }

    #[test]
    fn rewrite() {
        let mut config = route("r", "/api/orders", None, &[]);
        config.rewrite_prefix = Some("/orders".to_owned());
        let r = Route { config, index: 0 };
        assert_eq!(r.rewrite("/api/orders"), "/orders");
        assert_eq!(r.rewrite("/api/orders/"), "/orders/");
        assert_eq!(r.rewrite("/api/orders/7"), "/orders/7");

        let mut config = route("r", "/api", None, &[]);
        config.rewrite_prefix = Some("/".to_owned());
        let r = Route { config, index: 0 };
        assert_eq!(r.rewrite("/api"), "/");
        assert_eq!(r.rewrite("/api/x"), "/x");

        let mut config = route("r", "/", None, &[]);
        config.rewrite_prefix = Some("/v1".to_owned());
        let r = Route { config, index: 0 };
        assert_eq!(r.rewrite("/"), "/v1");
        assert_eq!(r.rewrite("/x"), "/v1/x");
    }
}
