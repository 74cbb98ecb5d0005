//! Request counters and latency histograms, rendered in the Prometheus text format.
//!
//! Series are keyed by the matched route template (`/v1/collections/{name}/search`), never
//! the raw path, so their number stays bounded; unmatched requests share one `unmatched`
//! route.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::state::AppState;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Count per bucket (not cumulative); the last slot is +Inf.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        let slot = BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(BUCKETS.len());
        self.counts[slot] += 1;
        self.sum += seconds;
    }
}

#[derive(Debug, Default)]
struct RouteStats {
    /// Requests by (method, status).
    requests: BTreeMap<(String, u16), u64>,
    latency: Histogram,
}

/// The metrics registry shared by every request.
#[derive(Debug, Default)]
pub struct Metrics {
    routes: Mutex<BTreeMap<String, RouteStats>>,
}

impl Metrics {
    /// Counts one finished request.
    pub fn observe(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        if !routes.contains_key(route) {
            routes.insert(route.to_string(), RouteStats::default());
        }
        let stats = routes.get_mut(route).expect("inserted above");
        match stats.requests.get_mut(&(method.to_string(), status)) {
            Some(n) => *n += 1,
            None => {
                stats.requests.insert((method.to_string(), status), 1);
            }
        }
        stats.latency.observe(elapsed.as_secs_f64());
    }

    /// The exposition text; `sizes` is (collection, live records, tail) per collection.
    pub fn render(&self, sizes: &[(String, usize, usize)]) -> String {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        render_counts(&mut out, &routes);
        render_latency(&mut out, &routes);
        render_sizes(&mut out, sizes);
        out
    }
}

/// Escapes a label value (backslash, quote, newline).
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_counts(out: &mut String, routes: &BTreeMap<String, RouteStats>) {
    out.push_str("# HELP genovec_http_requests_total HTTP requests by route, method and status.\n");
    out.push_str("# TYPE genovec_http_requests_total counter\n");
    for (route, stats) in routes {
        for ((method, status), n) in &stats.requests {
            let _ = writeln!(
                out,
                "genovec_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}",
                label(route)
            );
        }
    }
}

fn render_latency(out: &mut String, routes: &BTreeMap<String, RouteStats>) {
    out.push_str(
        "# HELP genovec_http_request_duration_seconds Time from request to response head.\n",
    );
    out.push_str("# TYPE genovec_http_request_duration_seconds histogram\n");
    let name = "genovec_http_request_duration_seconds";
    for (route, stats) in routes {
        let route = label(route);
        let h = &stats.latency;
        let mut cumulative = 0;
        for (bound, n) in BUCKETS.iter().zip(&h.counts) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let total: u64 = h.counts.iter().sum();
        let _ = writeln!(
            out,
            "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {total}"
        );
        let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", h.sum);
        let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {total}");
    }
}

fn render_sizes(out: &mut String, sizes: &[(String, usize, usize)]) {
    out.push_str("# HELP genovec_collection_records Live records per collection.\n");
    out.push_str("# TYPE genovec_collection_records gauge\n");
    for (name, records, _) in sizes {
        let _ = writeln!(
            out,
            "genovec_collection_records{{collection=\"{}\"}} {records}",
            label(name)
        );
    }
    out.push_str("# HELP genovec_collection_tail Records searched exactly (added after the last graph build).\n");
    out.push_str("# TYPE genovec_collection_tail gauge\n");
    for (name, _, tail) in sizes {
        let _ = writeln!(
            out,
            "genovec_collection_tail{{collection=\"{}\"}} {tail}",
            label(name)
        );
    }
}

/// Middleware: times every request and counts it under its route template and status.
pub async fn track(State(app): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().clone();
    let started = Instant::now();
    let response = next.run(req).await;
    let status = response.status().as_u16();
    app.metrics
        .observe(&route, method_label(&method), status, started.elapsed());
    response
}

/// The method as a metrics label: the standard methods by name, anything else as `OTHER`, so
/// invented methods cannot grow the label set without bound.
fn method_label(method: &axum::http::Method) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|k| **k == method.as_str())
        .copied()
        .unwrap_or("OTHER")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invented_methods_share_one_label() {
        let invented = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&invented), "OTHER");
        assert_eq!(method_label(&axum::http::Method::PATCH), "PATCH");
    }

    #[test]
    fn render_has_cumulative_buckets_counts_and_sizes() {
        let m = Metrics::default();
        m.observe("/healthz", "GET", 200, Duration::from_micros(50));
        m.observe("/healthz", "GET", 200, Duration::from_millis(3));
        m.observe("/healthz", "POST", 405, Duration::from_secs(100));
        let text = m.render(&[("demo".into(), 12, 2)]);
        for line in [
            "genovec_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2",
            "genovec_http_requests_total{route=\"/healthz\",method=\"POST\",status=\"405\"} 1",
            "genovec_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.0001\"} 1",
            "genovec_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.005\"} 2",
            "genovec_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"30\"} 2",
            "genovec_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 3",
            "genovec_http_request_duration_seconds_count{route=\"/healthz\"} 3",
            "genovec_collection_records{collection=\"demo\"} 12",
            "genovec_collection_tail{collection=\"demo\"} 2",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
