//! Shared harness for the end-to-end tests (real servers, real databases, real child processes).

pub mod app;
pub mod binaries;
pub mod contract;
pub mod db;

/// Where `../shared/conformance` lives relative to this crate.
pub fn conformance_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

/// Generates, for each named `async fn(TestDb)` in the calling module, one test per storage engine:
/// `sqlite::<name>` and `postgres::<name>`, each on a fresh database. A behaviour test is written once
/// and must pass on both.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::db::TestDb::sqlite().await).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    super::$name($crate::db::TestDb::postgres().await).await;
                }
            )+
        }
    };
}

/// A loopback address where connecting is refused: the socket is bound but never listens. Holding
/// it keeps another process from taking the port while the test runs, which a port that was merely
/// "free a moment ago" cannot promise when tests run in parallel.
pub fn refused_address() -> (tokio::net::TcpSocket, std::net::SocketAddr) {
    let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
    socket
        .bind(([127, 0, 0, 1], 0).into())
        .expect("binding a loopback port");
    let address = socket.local_addr().expect("the bound address");
    (socket, address)
}

/// Waits, when the clock is within 10 s of a minute's end, until the next minute begins: rate limits
/// count per calendar minute, and a test whose requests straddle two windows would see its count reset.
pub async fn away_from_rate_window_edge() {
    let into_minute = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        % 60_000;
    if into_minute >= 50_000 {
        let left = u64::try_from(60_000 - into_minute).unwrap_or(0) + 50;
        tokio::time::sleep(std::time::Duration::from_millis(left)).await;
    }
}
