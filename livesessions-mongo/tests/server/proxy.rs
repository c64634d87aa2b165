//! A TCP proxy in front of the MongoDB server that can hold back the server's answer to one
//! command: the test sees the command reach the server and then gives up on it, the way a
//! request timeout drops a join half-way.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// The proxy; dropping it stops accepting (open connections end with their peers).
pub struct Proxy {
    /// The address the clients connect to.
    pub address: std::net::SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

struct Shared {
    upstream: String,
    /// The bytes that mark the command whose answer is held, while armed.
    marker: std::sync::Mutex<Option<Vec<u8>>>,
    /// Told when the marked command has been passed on to the server.
    sent: Notify,
    /// Becomes true when held answers may go on.
    released: watch::Sender<bool>,
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let address = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            upstream,
            marker: std::sync::Mutex::new(None),
            sent: Notify::new(),
            released: watch::channel(true).0,
        });
        let accept = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(relay(client, Arc::clone(&shared)));
                }
            }
        });
        Proxy {
            address,
            shared,
            accept,
        }
    }

    /// Holds back the answer to the next command whose message contains `marker` (and every
    /// later answer on that connection) until [`Proxy::release`].
    pub fn hold_answer_to(&self, marker: &str) {
        self.shared.released.send_replace(false);
        *self.shared.marker.lock().expect("the marker") = Some(marker.as_bytes().to_vec());
    }

    /// Waits until the marked command has been passed on to the server.
    pub async fn command_sent(&self) {
        self.shared.sent.notified().await;
    }

    /// Lets held answers go on.
    pub fn release(&self) {
        self.shared.released.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One wire-protocol message: its length prefix (little-endian i32, itself included) and the rest.
async fn read_message(stream: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut length = [0_u8; 4];
    stream.read_exact(&mut length).await.ok()?;
    let total = usize::try_from(i32::from_le_bytes(length)).ok()?;
    let mut message = length.to_vec();
    message.resize(total.max(4), 0);
    stream.read_exact(&mut message[4..]).await.ok()?;
    Some(message)
}

async fn relay(client: TcpStream, shared: Arc<Shared>) {
    let Ok(server) = TcpStream::connect(&shared.upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let holding = Arc::new(AtomicBool::new(false));
    let requests = {
        let shared = Arc::clone(&shared);
        let holding = Arc::clone(&holding);
        async move {
            while let Some(message) = read_message(&mut client_read).await {
                let marked = {
                    let mut marker = shared.marker.lock().expect("the marker");
                    let hit = marker.as_ref().is_some_and(|m| {
                        message
                            .windows(m.len())
                            .any(|window| window == m.as_slice())
                    });
                    if hit {
                        *marker = None;
                    }
                    hit
                };
                if marked {
                    holding.store(true, Ordering::SeqCst);
                }
                if server_write.write_all(&message).await.is_err() {
                    break;
                }
                if marked {
                    shared.sent.notify_one();
                }
            }
        }
    };
    let answers = {
        let shared = Arc::clone(&shared);
        async move {
            let mut released = shared.released.subscribe();
            while let Some(message) = read_message(&mut server_read).await {
                if holding.load(Ordering::SeqCst) {
                    let _ = released.wait_for(|released| *released).await;
                }
                if client_write.write_all(&message).await.is_err() {
                    break;
                }
            }
        }
    };
    tokio::select! {
        () = requests => {}
        () = answers => {}
    }
}
