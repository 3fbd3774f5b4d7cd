//! Redis (127.0.0.1:6379) through the proxy with the `redis` crate: latency, timeout, reset_peer,
//! down and reset, with unique keys.

use std::time::{Duration, Instant};

use faultproxy::{Latency, ResetPeer, Timeout, Toxic};
use redis::aio::MultiplexedConnection;

use crate::helpers::{assert_within, bounded, unique, TestApp, REDIS};

const LIMIT: Duration = Duration::from_secs(60);
/// Bound for one command that is expected to complete.
const COMMAND: Duration = Duration::from_secs(10);

async fn connect(addr: std::net::SocketAddr) -> redis::RedisResult<MultiplexedConnection> {
    let client = redis::Client::open(format!("redis://{addr}/"))?;
    client.get_multiplexed_async_connection().await
}

async fn timed_get(
    con: &mut MultiplexedConnection,
    key: &str,
) -> (redis::RedisResult<Option<String>>, Duration) {
    let start = Instant::now();
    let result = tokio::time::timeout(COMMAND, redis::cmd("GET").arg(key).query_async(con))
        .await
        .expect("GET answers or fails within the bound");
    (result, start.elapsed())
}

#[tokio::test]
async fn redis_commands_see_the_configured_latency() {
    bounded(LIMIT, async {
        let app = TestApp::spawn().await;
        let name = unique("redis_latency");
        let addr = app.proxy(&name, REDIS).await;
        let key = unique("chaos:test");
        let mut con = connect(addr).await.expect("redis through the proxy");
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("v")
            .arg("EX")
            .arg(60)
            .query_async(&mut con)
            .await
            .unwrap();
        let (value, baseline) = timed_get(&mut con, &key).await;
        assert_eq!(value.unwrap().as_deref(), Some("v"));
        println!("redis GET baseline through the proxy: {baseline:?}");

        app.client
            .add_toxic(
                &name,
                &Toxic::new(Latency {
                    latency: 250,
                    jitter: 0,
                }),
            )
            .await
            .unwrap();
        let (value, slow) = timed_get(&mut con, &key).await;
        assert_eq!(value.unwrap().as_deref(), Some("v"));
        assert_within(
            "redis GET with 250 ms downstream latency",
            slow,
            Duration::from_millis(250),
            Duration::from_millis(5),
            Duration::from_millis(300),
        );

        app.client
            .remove_toxic(&name, "latency_downstream")
            .await
            .unwrap();
        let (value, after) = timed_get(&mut con, &key).await;
        assert_eq!(value.unwrap().as_deref(), Some("v"));
        println!("redis GET after removal: {after:?}");
        assert!(after < Duration::from_millis(200), "{after:?}");
        let _: () = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut con)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn redis_command_stalls_under_timeout_and_resumes_on_a_new_connection() {
    bounded(LIMIT, async {
        let app = TestApp::spawn().await;
        let name = unique("redis_timeout");
        let addr = app.proxy(&name, REDIS).await;
        let key = unique("chaos:test");
        let mut con = connect(addr).await.unwrap();
        app.client
            .add_toxic(&name, &Toxic::new(Timeout { timeout: 0 }).upstream())
            .await
            .unwrap();
        let stalled = tokio::time::timeout(
            Duration::from_secs(2),
            redis::cmd("SET")
                .arg(&key)
                .arg("v")
                .query_async::<()>(&mut con),
        )
        .await;
        assert!(
            stalled.is_err(),
            "SET must stall under a timeout toxic: {stalled:?}"
        );
        app.client
            .remove_toxic(&name, "timeout_upstream")
            .await
            .unwrap();

        let mut fresh = connect(addr).await.unwrap();
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("v")
            .arg("EX")
            .arg(60)
            .query_async(&mut fresh)
            .await
            .unwrap();
        let (value, _) = timed_get(&mut fresh, &key).await;
        assert_eq!(value.unwrap().as_deref(), Some("v"));
        let _: () = redis::cmd("DEL")
            .arg(&key)
            .query_async(&mut fresh)
            .await
            .unwrap();
    })
    .await;
}

#[tokio::test]
async fn redis_sees_a_reset_connection() {
    bounded(LIMIT, async {
        let app = TestApp::spawn().await;
        let name = unique("redis_reset");
        let addr = app.proxy(&name, REDIS).await;
        let key = unique("chaos:test");
        let mut con = connect(addr).await.unwrap();
        app.client
            .add_toxic(&name, &Toxic::new(ResetPeer { timeout: 0 }))
            .await
            .unwrap();
        let (result, _) = timed_get(&mut con, &key).await;
        let err = result.expect_err("GET must fail on a reset connection");
        println!(
            "redis error under reset_peer: {err} (kind {:?})",
            err.kind()
        );
        assert!(
            err.is_io_error() || err.is_connection_dropped() || err.is_unrecoverable_error(),
            "{err:?}"
        );

        app.client.reset().await.unwrap();
        let mut fresh = connect(addr).await.expect("works again after reset");
        let (value, _) = timed_get(&mut fresh, &key).await;
        assert_eq!(value.unwrap(), None);
    })
    .await;
}

#[tokio::test]
async fn redis_is_refused_while_down_and_back_after_reset() {
    bounded(LIMIT, async {
        let app = TestApp::spawn().await;
        let name = unique("redis_down");
        let addr = app.proxy(&name, REDIS).await;
        app.client.disable(&name).await.unwrap();
        let refused = connect(addr).await;
        assert!(refused.is_err(), "down must refuse connections");
        println!("redis connect while down: {}", refused.err().unwrap());

        app.client.reset().await.unwrap();
        let mut con = connect(addr).await.expect("reset brings the proxy up");
        let pong: String = redis::cmd("PING").query_async(&mut con).await.unwrap();
        assert_eq!(pong, "PONG");
    })
    .await;
}
