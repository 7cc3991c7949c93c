//! Hearing from the other nodes: `Store::listen` gives the notifications that units of work
//! sent with `Tx::notify` when they committed. On PostgreSQL a dedicated connection
//! `LISTEN`s on a thread of its own and reconnects (with backoff) when it is lost; on SQLite
//! (one process) there is nobody else to hear from.

use std::time::Duration;

use postgres::{Client, NoTls};
use tokio::sync::mpsc;

/// A notification from another node (or this one): see `Store::listen`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub channel: String,
    pub payload: String,
}

/// What `Store::listen` returns: notifications as they arrive. On SQLite (one process) it
/// never yields.
pub struct Listener {
    rx: Option<mpsc::Receiver<Notification>>,
}

impl Listener {
    pub(crate) fn never() -> Listener {
        Listener { rx: None }
    }

    /// The next notification; `None` once the listener has stopped for good.
    pub async fn recv(&mut self) -> Option<Notification> {
        match &mut self.rx {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }
}

/// How many notifications may wait for the server to take them; past that they are
/// dropped (wake-ups are idempotent and workers poll; the live stream is best effort).
const LISTEN_BUFFER: usize = 8_192;

/// Starts the `LISTEN` thread. Notifications sent while it is disconnected are lost:
/// callers poll as a fallback.
pub(crate) fn listen_postgres(config: postgres::Config, channels: &[&str]) -> Listener {
    let (tx, rx) = mpsc::channel(LISTEN_BUFFER);
    let channels: Vec<String> = channels.iter().map(|c| c.to_string()).collect();
    let spawned = std::thread::Builder::new()
        .name("parley-pg-listen".into())
        .spawn(move || listen_loop(config, channels, tx));
    match spawned {
        Ok(_) => Listener { rx: Some(rx) },
        Err(e) => {
            tracing::error!(error = %e, "cannot start the LISTEN thread; relying on polling");
            Listener::never()
        }
    }
}

fn listen_loop(config: postgres::Config, channels: Vec<String>, tx: mpsc::Sender<Notification>) {
    let mut backoff = Duration::from_millis(100);
    while !tx.is_closed() {
        let connected = (|| -> std::result::Result<Client, postgres::Error> {
            let mut client = config.connect(NoTls)?;
            let sql: String = channels
                .iter()
                .map(|c| format!("LISTEN \"{}\"; ", c.replace('"', "")))
                .collect();
            client.batch_execute(&sql)?;
            Ok(client)
        })();
        let mut client = match connected {
            Ok(c) => {
                backoff = Duration::from_millis(100);
                tracing::debug!(?channels, "listening for notifications");
                c
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot LISTEN; retrying (workers poll meanwhile)");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        loop {
            if tx.is_closed() {
                return;
            }
            let next = {
                use postgres::fallible_iterator::FallibleIterator;
                client
                    .notifications()
                    .timeout_iter(Duration::from_millis(500))
                    .next()
            };
            match next {
                Ok(Some(n)) => {
                    let note = Notification {
                        channel: n.channel().to_string(),
                        payload: n.payload().to_string(),
                    };
                    if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(note) {
                        tracing::debug!("notification dropped: the server is behind");
                    }
                }
                Ok(None) if client.is_closed() => break,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "LISTEN connection lost; reconnecting");
                    break;
                }
            }
        }
    }
}
