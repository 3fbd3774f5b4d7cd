//! Each toxic over real TCP through an echo server on port 0, on new and on live connections;
//! down, reset, toxicity 0, and no byte lost while toxics come and go mid-stream.

use std::io::ErrorKind;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use faultproxy::{Bandwidth, Latency, LimitData, ResetPeer, Slicer, SlowClose, Timeout, Toxic};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{
    assert_within, bounded, read_to_end, round_trip, spawn_echo, unique, TestApp,
};

const LIMIT: Duration = Duration::from_secs(60);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An app with one proxy in front of a fresh echo server.
async fn echo_proxy() -> (TestApp, String, std::net::SocketAddr) {
    let app = TestApp::spawn().await;
    let name = unique("echo");
    let addr = app.proxy(&name, spawn_echo().await).await;
    (app, name, addr)
}

#[tokio::test]
async fn latency_delays_each_round_trip_by_the_configured_time() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let baseline = round_trip(&mut conn, b"ping").await;
        println!("baseline round trip: {baseline:?}");

        // Added on a live connection: it applies at once.
        app.client
            .add_toxic(
                &name,
                &Toxic::new(Latency {
                    latency: 300,
                    jitter: 0,
                }),
            )
            .await
            .unwrap();
        let slow = round_trip(&mut conn, b"ping").await;
        assert_within(
            "latency 300 ms downstream (live connection)",
            slow,
            ms(300),
            ms(5),
            ms(250),
        );

        // Upstream and downstream add up; a new connection gets both.
        app.client
            .add_toxic(
                &name,
                &Toxic::new(Latency {
                    latency: 200,
                    jitter: 0,
                })
                .upstream(),
            )
            .await
            .unwrap();
        let mut fresh = TcpStream::connect(addr).await.unwrap();
        let both = round_trip(&mut fresh, b"ping").await;
        assert_within(
            "latency 200 up + 300 down (new connection)",
            both,
            ms(500),
            ms(5),
            ms(300),
        );

        // Jitter stays within latency ± jitter.
        app.client
            .remove_toxic(&name, "latency_upstream")
            .await
            .unwrap();
        app.client
            .remove_toxic(&name, "latency_downstream")
            .await
            .unwrap();
        app.client
            .add_toxic(
                &name,
                &Toxic::new(Latency {
                    latency: 200,
                    jitter: 100,
                }),
            )
            .await
            .unwrap();
        for _ in 0..3 {
            let t = round_trip(&mut conn, b"ping").await;
            assert_within("latency 200 ± 100", t, ms(200), ms(105), ms(350));
        }

        // Removed: back to the baseline on the same connection.
        app.client
            .remove_toxic(&name, "latency_downstream")
            .await
            .unwrap();
        let after = round_trip(&mut conn, b"ping").await;
        println!("after removal: {after:?}");
        assert!(
            after < ms(150),
            "removal should restore speed, got {after:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn bandwidth_caps_the_rate_within_twenty_percent() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        let rate_kb = 200;
        app.client
            .add_toxic(&name, &Toxic::new(Bandwidth { rate: rate_kb }))
            .await
            .unwrap();
        let total = 400_000usize;
        let conn = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = conn.into_split();
        let start = Instant::now();
        let writer = tokio::spawn(async move {
            let data = vec![7u8; total];
            w.write_all(&data).await.unwrap();
            w
        });
        let mut got = 0;
        let mut buf = vec![0u8; 16 * 1024];
        while got < total {
            let n = r.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early after {got} bytes");
            got += n;
        }
        let elapsed = start.elapsed();
        let _ = writer.await;
        let expected = Duration::from_secs_f64(total as f64 / (rate_kb as f64 * 1000.0));
        let rate = total as f64 / elapsed.as_secs_f64() / 1000.0;
        println!("bandwidth {rate_kb} KB/s: {total} bytes in {elapsed:?} = {rate:.1} KB/s");
        assert_within(
            "bandwidth transfer time",
            elapsed,
            expected,
            expected / 5,
            expected / 5,
        );
    })
    .await;
}

#[tokio::test]
async fn timeout_stalls_then_closes() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        app.client
            .add_toxic(&name, &Toxic::new(Timeout { timeout: 500 }))
            .await
            .unwrap();
        let start = Instant::now();
        let mut conn = TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"anyone there?").await.unwrap();
        let (data, ended) = read_to_end(&mut conn).await;
        let elapsed = start.elapsed();
        println!("timeout 500 ms: closed after {elapsed:?} ({ended:?})");
        assert!(
            data.is_empty(),
            "no data may pass, got {} bytes",
            data.len()
        );
        assert_within("timeout close", elapsed, ms(500), ms(5), ms(500));
    })
    .await;
}

#[tokio::test]
async fn timeout_zero_holds_until_removed_then_closes_like_toxiproxy() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        let mut conn = TcpStream::connect(addr).await.unwrap();
        round_trip(&mut conn, b"before").await;
        app.client
            .add_toxic(&name, &Toxic::new(Timeout { timeout: 0 }))
            .await
            .unwrap();
        conn.write_all(b"stalled").await.unwrap();
        let mut buf = [0u8; 16];
        let stalled = tokio::time::timeout(ms(1500), conn.read(&mut buf)).await;
        assert!(
            stalled.is_err(),
            "data must not pass while the toxic is on: {stalled:?}"
        );
        // New connections stall too.
        let mut other = TcpStream::connect(addr).await.unwrap();
        other.write_all(b"x").await.unwrap();
        assert!(tokio::time::timeout(ms(300), other.read(&mut buf))
            .await
            .is_err());

        let removed_at = Instant::now();
        app.client
            .remove_toxic(&name, "timeout_downstream")
            .await
            .unwrap();
        // The swallowed bytes are gone, so the connection is closed (toxiproxy's cleanup).
        let (data, ended) = read_to_end(&mut conn).await;
        println!(
            "closed {:?} after removal ({ended:?})",
            removed_at.elapsed()
        );
        assert!(data.is_empty());
        assert!(removed_at.elapsed() < ms(2000));
        // And a new connection works normally.
        let mut fresh = TcpStream::connect(addr).await.unwrap();
        round_trip(&mut fresh, b"after").await;
    })
    .await;
}

#[tokio::test]
async fn reset_peer_resets_the_connection() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        app.client
            .add_toxic(&name, &Toxic::new(ResetPeer { timeout: 200 }))
            .await
            .unwrap();
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        conn.write_all(b"hello").await.unwrap();
        let (data, ended) = read_to_end(&mut conn).await;
        let elapsed = start.elapsed();
        println!("reset_peer 200 ms: {ended:?} after {elapsed:?}");
        assert!(data.is_empty());
        let err = ended.expect_err("a reset, not a clean close");
        assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
        assert_within("reset delay", elapsed, ms(200), ms(5), ms(500));
    })
    .await;
}

#[tokio::test]
async fn limit_data_closes_after_n_bytes() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        app.client
            .add_toxic(&name, &Toxic::new(LimitData { bytes: 100 }))
            .await
            .unwrap();
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let sent: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        conn.write_all(&sent).await.unwrap();
        let (data, ended) = read_to_end(&mut conn).await;
        println!("limit_data 100: got {} bytes, then {ended:?}", data.len());
        assert_eq!(data, sent[..100]);
        assert!(ended.is_ok(), "a clean close (FIN), got {ended:?}");
    })
    .await;
}

#[tokio::test]
async fn limit_data_counts_across_writes_on_a_live_connection() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        let mut conn = TcpStream::connect(addr).await.unwrap();
        round_trip(&mut conn, b"before the toxic").await;
        app.client
            .add_toxic(&name, &Toxic::new(LimitData { bytes: 10 }))
            .await
            .unwrap();
        round_trip(&mut conn, b"12345").await;
        conn.write_all(b"6789abcdef").await.unwrap();
        let (data, _) = read_to_end(&mut conn).await;
        assert_eq!(data, b"6789a");
    })
    .await;
}

#[tokio::test]
async fn slicer_delivers_the_same_bytes_in_pieces() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        app.client
            .add_toxic(
                &name,
                &Toxic::new(Slicer {
                    average_size: 10,
                    size_variation: 4,
                    delay: 2000,
                }),
            )
            .await
            .unwrap();
        let mut conn = TcpStream::connect(addr).await.unwrap();
        let sent: Vec<u8> = (0..500u32).map(|i| (i * 7) as u8).collect();
        conn.write_all(&sent).await.unwrap();
        let mut got = Vec::new();
        let mut reads = 0;
        let mut buf = [0u8; 4096];
        while got.len() < sent.len() {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(n > 0);
            assert!(n <= 14 * 2, "a read bigger than two slices: {n}");
            got.extend_from_slice(&buf[..n]);
            reads += 1;
        }
        println!("slicer: {} bytes in {reads} reads", got.len());
        assert_eq!(got, sent);
        assert!(reads >= 20, "expected many small pieces, got {reads} reads");
    })
    .await;
}

#[tokio::test]
async fn slow_close_delays_the_close() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        app.client
            .add_toxic(&name, &Toxic::new(SlowClose { delay: 600 }))
            .await
            .unwrap();
        let mut conn = TcpStream::connect(addr).await.unwrap();
        round_trip(&mut conn, b"data flows").await;
        let start = Instant::now();
        conn.shutdown().await.unwrap();
        let (data, ended) = read_to_end(&mut conn).await;
        let elapsed = start.elapsed();
        assert!(data.is_empty() && ended.is_ok(), "{data:?} {ended:?}");
        assert_within("slow_close 600 ms", elapsed, ms(600), ms(5), ms(500));
    })
    .await;
}

#[tokio::test]
async fn down_closes_connections_and_refuses_new_ones_until_up() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        let mut conn = TcpStream::connect(addr).await.unwrap();
        round_trip(&mut conn, b"up").await;

        app.client.disable(&name).await.unwrap();
        let (_, ended) = read_to_end(&mut conn).await;
        println!("existing connection after down: {ended:?}");
        let refused = TcpStream::connect(addr)
            .await
            .expect_err("down must refuse");
        assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

        app.client.enable(&name).await.unwrap();
        let mut again = TcpStream::connect(addr)
            .await
            .expect("up again on the same address");
        round_trip(&mut again, b"back").await;
    })
    .await;
}

#[tokio::test]
async fn reset_restores_every_proxy() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        let other = unique("other");
        let other_addr = app.proxy(&other, spawn_echo().await).await;
        app.client
            .add_toxic(
                &name,
                &Toxic::new(Latency {
                    latency: 1000,
                    jitter: 0,
                }),
            )
            .await
            .unwrap();
        app.client
            .add_toxic(&other, &Toxic::new(Timeout { timeout: 0 }).upstream())
            .await
            .unwrap();
        let mut conn = TcpStream::connect(addr).await.unwrap();
        app.client.disable(&other).await.unwrap();

        app.client.reset().await.unwrap();
        let fast = round_trip(&mut conn, b"ping").await;
        println!("after reset: {fast:?}");
        assert!(
            fast < ms(500),
            "latency must be gone on the live connection: {fast:?}"
        );
        let mut other_conn = TcpStream::connect(other_addr).await.expect("reset enables");
        round_trip(&mut other_conn, b"ping").await;
    })
    .await;
}

#[tokio::test]
async fn toxicity_zero_means_no_effect() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        app.client
            .add_toxic(
                &name,
                &Toxic::new(Latency {
                    latency: 1000,
                    jitter: 0,
                })
                .with_toxicity(0.0),
            )
            .await
            .unwrap();
        app.client
            .add_toxic(
                &name,
                &Toxic::new(Timeout { timeout: 0 })
                    .upstream()
                    .with_toxicity(0.0),
            )
            .await
            .unwrap();
        for _ in 0..5 {
            let mut conn = TcpStream::connect(addr).await.unwrap();
            let t = round_trip(&mut conn, b"ping").await;
            assert!(t < ms(500), "toxicity 0 must not delay: {t:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn no_byte_is_lost_while_toxics_come_and_go_mid_stream() {
    bounded(LIMIT, async {
        let (app, name, addr) = echo_proxy().await;
        let conn = TcpStream::connect(addr).await.unwrap();
        let (mut r, mut w) = conn.into_split();
        let stop = Arc::new(AtomicBool::new(false));
        // Writes a known pattern until told to stop; returns how many bytes it wrote.
        let writer = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut sent = 0usize;
                let mut piece = vec![0u8; 7_919];
                while !stop.load(Ordering::Relaxed) {
                    for (i, b) in piece.iter_mut().enumerate() {
                        *b = ((sent + i) % 251) as u8;
                    }
                    w.write_all(&piece).await.unwrap();
                    sent += piece.len();
                    tokio::time::sleep(ms(1)).await;
                }
                w.shutdown().await.unwrap();
                sent
            }
        });
        // Checks every byte against the pattern as it arrives.
        let reader = tokio::spawn(async move {
            let mut got = 0usize;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = r.read(&mut buf).await.unwrap();
                if n == 0 {
                    return got;
                }
                for (i, b) in buf[..n].iter().enumerate() {
                    assert_eq!(*b, ((got + i) % 251) as u8, "byte {} differs", got + i);
                }
                got += n;
            }
        });
        let toxics = [
            Toxic::new(Latency {
                latency: 20,
                jitter: 10,
            }),
            Toxic::new(Slicer {
                average_size: 512,
                size_variation: 100,
                delay: 50,
            })
            .upstream(),
            Toxic::new(Bandwidth { rate: 5_000 }),
            Toxic::new(Latency {
                latency: 10,
                jitter: 0,
            })
            .upstream(),
            Toxic::new(SlowClose { delay: 1 }),
            Toxic::new(Slicer {
                average_size: 100,
                size_variation: 10,
                delay: 0,
            })
            .named("fine_slicer"),
        ];
        let rounds = 12;
        for round in 0..rounds {
            for toxic in &toxics {
                app.client.add_toxic(&name, toxic).await.unwrap();
                tokio::time::sleep(ms(7)).await;
            }
            // Remove in a different order each round: head, middle and tail of the chains.
            let mut order: Vec<&Toxic> = toxics.iter().collect();
            order.rotate_left(round % toxics.len());
            for toxic in order {
                app.client.remove_toxic(&name, &toxic.name).await.unwrap();
                tokio::time::sleep(ms(3)).await;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let sent = writer.await.unwrap();
        let got = reader.await.unwrap();
        println!("{rounds} rounds of add/remove over {sent} bytes, {got} echoed back intact");
        assert_eq!(got, sent, "byte count");
        assert!(sent > 100_000, "the stream should have been busy: {sent}");
    })
    .await;
}

#[tokio::test]
async fn pass_through_copies_every_byte_on_many_connections() {
    bounded(LIMIT, async {
        let (_app, _name, addr) = echo_proxy().await;
        let mut clients = Vec::new();
        for c in 0..20u32 {
            clients.push(tokio::spawn(async move {
                let mut conn = TcpStream::connect(addr).await.unwrap();
                // Sizes from tiny to larger than the 32 KiB copy buffer.
                for i in 0..60u32 {
                    let len = ((c * 7_919 + i * 104_729) % 70_000 + 1) as usize;
                    let msg: Vec<u8> = (0..len).map(|j| (j as u32 ^ c ^ i) as u8).collect();
                    round_trip(&mut conn, &msg).await;
                }
                // Half-close: the echo answers EOF through the proxy.
                conn.shutdown().await.unwrap();
                let (rest, ended) = read_to_end(&mut conn).await;
                assert!(rest.is_empty() && ended.is_ok(), "{ended:?}");
            }));
        }
        for client in clients {
            client.await.unwrap();
        }
    })
    .await;
}
