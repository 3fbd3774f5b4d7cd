//! The third-party `toxiproxy_rust` client (blocking, reqwest 0.11) drives our server: populate,
//! find, every toxic it knows, down/up, delete all toxics, reset, version. It is what an
//! existing toxiproxy user would point at us, so it checks the wire format from outside.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use toxiproxy_rust::client::Client;
use toxiproxy_rust::proxy::ProxyPack;

use crate::helpers::{bounded, spawn_echo, unique, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toxiproxy_rust_client_drives_our_server() {
    bounded(Duration::from_secs(60), async {
        let app = TestApp::spawn().await;
        let echo = spawn_echo().await;
        let name = unique("tp_rust");
        let api = app.server.addr();
        let listen_port = crate::helpers::free_port();
        let listen = format!("127.0.0.1:{listen_port}");

        let (name2, listen2) = (name.clone(), listen.clone());
        let proxy_addr = tokio::task::spawn_blocking(move || {
            let client = Client::new(api);
            assert!(client.is_running());
            let version = client.version().expect("version");
            assert!(version.contains("version"), "{version}");

            let proxies = client
                .populate(vec![ProxyPack::new(
                    name2.clone(),
                    listen2.clone(),
                    echo.to_string(),
                )])
                .expect("populate");
            assert_eq!(proxies.len(), 1);
            assert_eq!(proxies[0].proxy_pack.listen, listen2);
            assert!(proxies[0].proxy_pack.enabled);

            let proxy = client.find_proxy(&name2).expect("find");
            proxy
                .with_latency("downstream".into(), 50, 5, 1.0)
                .with_bandwidth("upstream".into(), 1000, 1.0)
                .with_slow_close("downstream".into(), 10, 1.0)
                .with_timeout("upstream".into(), 10_000, 0.0)
                .with_slicer("downstream".into(), 64, 8, 10, 1.0)
                .with_limit_data("upstream".into(), 1 << 20, 1.0);
            let toxics = proxy.toxics().expect("list toxics");
            let mut names: Vec<_> = toxics.iter().map(|t| t.name.clone()).collect();
            names.sort();
            assert_eq!(
                names,
                [
                    "bandwidth_upstream",
                    "latency_downstream",
                    "limit_data_upstream",
                    "slicer_downstream",
                    "slow_close_downstream",
                    "timeout_upstream"
                ]
            );
            let latency = toxics.iter().find(|t| t.r#type == "latency").unwrap();
            assert_eq!(latency.attributes.get("latency"), Some(&50));
            assert_eq!(latency.attributes.get("jitter"), Some(&5));

            let all = client.all().expect("all");
            assert_eq!(all[&name2].proxy_pack.toxics.len(), 6);

            proxy.disable().expect("disable");
            assert!(!client.find_proxy(&name2).unwrap().proxy_pack.enabled);
            proxy.enable().expect("enable");
            proxy.delete_all_toxics().expect("delete all toxics");
            assert!(proxy.toxics().unwrap().is_empty());

            proxy.with_latency("downstream".into(), 10, 0, 1.0);
            client.reset().expect("reset");
            let proxy = client.find_and_reset_proxy(&name2).expect("find and reset");
            assert!(proxy.proxy_pack.toxics.is_empty());
            assert!(proxy.proxy_pack.enabled);
            listen2
        })
        .await
        .expect("blocking client thread");

        // The proxy it made carries traffic.
        let mut conn = TcpStream::connect(&proxy_addr).await.unwrap();
        conn.write_all(b"through").await.unwrap();
        let mut back = [0u8; 7];
        conn.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"through");
        assert_eq!(proxy_addr, listen);
    })
    .await;
}
