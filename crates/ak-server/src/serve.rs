//! Serving a [`Router`]: the accept loop with a connection cap, TLS, HTTP/1.1 limits, and
//! graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::{ConfigError, ServerConfig, TLS_HANDSHAKE_TIMEOUT};
use crate::tls::TlsConfig;

/// How a request reached the server, set on every request by [`serve`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transport {
    /// The connection is TLS (the console then marks its cookie `Secure`).
    pub(crate) tls: bool,
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting and waits up to
/// [`ServerConfig::shutdown_grace`] for in-flight requests to finish (idle keep-alive
/// connections are closed at once).
///
/// * At most [`ServerConfig::max_connections`] connections are open at once; further ones wait
///   in the listen backlog until one closes.
/// * A request head larger than [`ServerConfig::max_header_bytes`] is refused (431), and a
///   client that has not sent its head within [`ServerConfig::request_timeout`] is disconnected.
/// * With `tls`, every connection is TLS (handshake within 10 s) and HTTP/1.1.
/// * Each request carries the peer address (`ConnectInfo<SocketAddr>`), the client address for
///   rate limiting and permitted IPs, and whether the connection is TLS.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: &ServerConfig,
    tls: Option<TlsConfig>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ConfigError> {
    config.validate()?;
    let connections = Arc::new(Semaphore::new(config.max_connections));
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(|tls| TlsAcceptor::from(tls.0));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(config.request_timeout)
        .max_buf_size(config.max_header_bytes)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let http = http.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        let transport = Transport {
            tls: acceptor.is_some(),
        };
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                request.extensions_mut().insert(transport);
                router.clone().oneshot(request)
            });
            match acceptor {
                None => {
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        let _ = watcher
                            .watch(http.serve_connection(TokioIo::new(stream), service))
                            .await;
                    }
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(config.shutdown_grace) => {
            tracing::warn!("shutdown grace period over; dropping the remaining connections");
        }
    }
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
