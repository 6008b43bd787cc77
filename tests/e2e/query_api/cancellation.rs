//! A query whose client goes away is canceled (its evaluation stops), and a query that runs
//! past its timeout is answered `503 timeout`.
//!
//! The expensive query needs no data: nested one-second subqueries over a day make the engine
//! scan 86,400 points at each of 86,400 steps, far longer than the test waits, while the
//! engine checks for cancellation at every step.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use norn_e2e::wait_for_every;

use super::{Node, encode};

const EXPENSIVE: &str = "max_over_time(max_over_time(vector(time())[1d:1s])[1d:1s])";

#[test]
fn a_client_that_disconnects_cancels_its_query() {
    let node = Node::start(|_| {});

    // The query takes longer than a second: a one-second timeout stops it with a 503.
    let timed_out = node.get(
        Some("team-a"),
        &format!(
            "/api/v1/query?query={}&time=100000&timeout=1s",
            encode(EXPENSIVE)
        ),
    );
    timed_out.assert_error(503, "timeout", "query timed out");
    assert!(
        wait_for_every(Duration::from_secs(20), Duration::from_millis(100), || {
            (node.metric("norn_querier_inflight_queries") == 0.0).then_some(())
        })
        .is_some(),
        "the timed-out evaluation stopped"
    );
    assert_eq!(node.metric("norn_querier_queries_canceled_total"), 0.0);

    // A client sends it, waits until it evaluates, and goes away.
    let mut client = TcpStream::connect(node.address).unwrap();
    let path = format!(
        "/prometheus/api/v1/query?query={}&time=100000",
        encode(EXPENSIVE)
    );
    write!(
        client,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nX-Scope-OrgID: team-a\r\nConnection: close\r\n\r\n",
        node.address
    )
    .unwrap();
    client.flush().unwrap();
    let evaluating = wait_for_every(Duration::from_secs(20), Duration::from_millis(50), || {
        (node.metric("norn_querier_inflight_queries") == 1.0).then_some(())
    });
    assert!(evaluating.is_some(), "the query never started evaluating");
    client.shutdown(std::net::Shutdown::Both).unwrap();
    drop(client);

    let stopped = wait_for_every(Duration::from_secs(20), Duration::from_millis(100), || {
        let canceled = node.metric("norn_querier_queries_canceled_total");
        let inflight = node.metric("norn_querier_inflight_queries");
        (canceled == 1.0 && inflight == 0.0).then_some(())
    });
    assert!(
        stopped.is_some(),
        "the evaluation kept running after the client left: canceled {}, in flight {}",
        node.metric("norn_querier_queries_canceled_total"),
        node.metric("norn_querier_inflight_queries")
    );
    // Nothing was answered for it.
    let metrics = norn_e2e::get(node.address, "/metrics").unwrap().body;
    assert_eq!(
        norn_e2e::metric_value(
            &metrics,
            "norn_querier_queries_total",
            &[("endpoint", "query"), ("status", "success")]
        ),
        None,
        "{metrics}"
    );
}
