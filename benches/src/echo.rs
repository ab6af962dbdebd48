//! The bare tokio-tungstenite echo server: the physical limit of one
//! websocket hop on this machine. It runs with tungstenite's default
//! settings on purpose; the idle scenario compares against them.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;

/// Echoes every data message back on its connection, forever.
pub async fn serve_echo(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of file descriptors or similar: wait, don't spin.
                eprintln!("echo: accept failed: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
            while let Some(Ok(msg)) = ws.next().await {
                if (msg.is_binary() || msg.is_text()) && ws.send(msg).await.is_err() {
                    break;
                }
            }
        });
    }
}
