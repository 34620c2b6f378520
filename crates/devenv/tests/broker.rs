//! Starts real tansu brokers; needs tansu (see `DevEnvError::TansuNotFound`).

use std::net::{Ipv4Addr, TcpStream};

use bazaar_devenv::LocalBroker;

fn accepts(port: u16) -> bool {
    TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok()
}

#[tokio::test]
async fn broker_accepts_connections_until_shut_down() {
    let broker = LocalBroker::start().await.expect("start tansu");
    let port = broker.port();
    assert_eq!(broker.bootstrap_servers(), format!("127.0.0.1:{port}"));
    assert!(accepts(port));
    let dir = broker.dir().to_owned();
    broker.shutdown().await;
    assert!(!accepts(port), "port {port} still accepts after shutdown");
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[tokio::test]
async fn drop_kills_the_broker() {
    let (a, b) = tokio::join!(LocalBroker::start(), LocalBroker::start());
    let (a, b) = (a.expect("start a"), b.expect("start b"));
    assert_ne!(a.port(), b.port());
    let port = a.port();
    drop(a);
    assert!(!accepts(port), "port {port} still accepts after drop");
    assert!(
        accepts(b.port()),
        "dropping one broker must not affect another"
    );
}
