//! Starts real tansu brokers; needs tansu (see `DevEnvError::TansuNotFound`).

use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use bazaar_devenv::LocalBroker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// Whether the broker on `port` answers a Kafka ApiVersions request within `wait`.
async fn answers(port: u16, wait: Duration) -> bool {
    // ApiVersions v0: size, api key 18, version 0, correlation id 1, null client id.
    const REQUEST: [u8; 14] = [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff];
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port)).await?;
        stream.write_all(&REQUEST).await?;
        let mut size = [0u8; 4];
        stream.read_exact(&mut size).await?;
        Ok::<_, std::io::Error>(())
    };
    matches!(tokio::time::timeout(wait, exchange).await, Ok(Ok(())))
}

#[tokio::test]
async fn a_paused_broker_answers_nothing_until_it_resumes() {
    let broker = LocalBroker::start().await.expect("start tansu");
    let port = broker.port();
    assert!(
        answers(port, Duration::from_secs(10)).await,
        "a fresh broker answers"
    );
    broker.pause().expect("pause");
    assert!(
        !answers(port, Duration::from_millis(500)).await,
        "a paused broker answered"
    );
    broker.resume().expect("resume");
    assert!(
        answers(port, Duration::from_secs(10)).await,
        "the resumed broker answers again"
    );
    broker.shutdown().await;
}
