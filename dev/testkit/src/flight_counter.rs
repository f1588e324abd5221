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
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let flights = Arc::new(AtomicU64::new(0));
        let counter = flights.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)).await {
                        relay(client, server, counter).await;
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

async fn relay(client: TcpStream, server: TcpStream, flights: Arc<AtomicU64>) {
    let last = Arc::new(AtomicU8::new(SERVER_SENT));
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream_last = last.clone();
    let upstream = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = client_read.read(&mut buffer).await {
            if n == 0 || server_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
            if upstream_last.swap(CLIENT_SENT, Ordering::SeqCst) == SERVER_SENT {
                flights.fetch_add(1, Ordering::SeqCst);
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buffer).await {
            if n == 0 {
                break;
            }
            last.store(SERVER_SENT, Ordering::SeqCst);
            if client_write.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
