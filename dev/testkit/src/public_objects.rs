//! What Supabase serves at `<SUPABASE_URL>/storage/v1/object/public/<bucket>/<key>`:
//! anonymous GETs of objects in public buckets. The local S3 server requires
//! signatures on every request, so tests serve public URLs through this,
//! reading with the S3 client.

use shared::storage::{Storage, PUBLIC_BUCKET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct PublicObjectServer {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl PublicObjectServer {
    pub async fn start(storage: Storage) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind public object server");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let storage = storage.clone();
                tokio::spawn(async move {
                    let mut request = vec![0u8; 8192];
                    let Ok(n) = socket.read(&mut request).await else { return };
                    let head = String::from_utf8_lossy(&request[..n]);
                    let path = head.split_whitespace().nth(1).unwrap_or("/");
                    let prefix = format!("/{PUBLIC_BUCKET}/");
                    let found = match path.strip_prefix(&prefix) {
                        Some(key) if !key.contains("..") => storage.get(PUBLIC_BUCKET, key).await.ok().flatten(),
                        _ => None,
                    };
                    let response = match found {
                        Some(bytes) => {
                            let mut out = format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: image/jpeg\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                                bytes.len()
                            )
                            .into_bytes();
                            out.extend_from_slice(&bytes);
                            out
                        }
                        None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
                    };
                    let _ = socket.write_all(&response).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        PublicObjectServer { port, task }
    }

    /// The `PUBLIC_STORAGE_URL` to configure.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for PublicObjectServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
