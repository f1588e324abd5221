//! A TCP proxy that counts round trips: each time the client sends after the
//! server has answered, a new flight starts. Pipelined statements travel in
//! one flight; a statement that waits for the previous reply starts another.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CLIENT_SENT: u8 = 1;
const SERVER_SENT: u8 = 2;

pub struct FlightCounter {
    pub port: u16,
    flights: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl FlightCounter {
    /// Proxies 127.0.0.1:<port> to `upstream_port`.
    pub async fn start(upstream_port: u16) -> Self {
        Self::start_with_latency(upstream_port, std::time::Duration::ZERO).await
    }

    /// Like `start`, and delays every chunk by `one_way` in each direction,
    /// as a network between a Lambda and its database would.
    pub async fn start_with_latency(upstream_port: u16, one_way: std::time::Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let flights = Arc::new(AtomicU64::new(0));
        let counter = flights.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    // Without NODELAY, Nagle and delayed ACKs on the proxy's own
                    // sockets would add tens of milliseconds to small replies.
                    let _ = client.set_nodelay(true);
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await {
                        let _ = server.set_nodelay(true);
                        relay(client, server, counter, one_way).await;
                    }
                });
            }
        });
        FlightCounter { port, flights, task }
    }

    pub fn flights(&self) -> u64 {
        self.flights.load(Ordering::SeqCst)
    }
}

impl Drop for FlightCounter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(client: TcpStream, server: TcpStream, flights: Arc<AtomicU64>, one_way: std::time::Duration) {
    let last = Arc::new(AtomicU8::new(SERVER_SENT));
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let upstream_last = last.clone();
    let on_client_data = move || {
        if upstream_last.swap(CLIENT_SENT, Ordering::SeqCst) == SERVER_SENT {
            flights.fetch_add(1, Ordering::SeqCst);
        }
    };
    let on_server_data = move || last.store(SERVER_SENT, Ordering::SeqCst);
    tokio::join!(
        pipe(client_read, server_write, one_way, on_client_data),
        pipe(server_read, client_write, one_way, on_server_data)
    );
}

/// Copies one direction; each chunk leaves `one_way` after it arrived, in
/// order, so pipelined bytes keep travelling together (a chunk does not wait
/// for the previous chunk's delay on top of its own).
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    one_way: std::time::Duration,
    on_data: impl Fn(),
) {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            on_data();
            if sender.send((tokio::time::Instant::now(), buffer[..n].to_vec())).is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((arrived, chunk)) = receiver.recv().await {
            tokio::time::sleep_until(arrived + one_way).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
