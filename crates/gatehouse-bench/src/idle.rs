//! Idle keep-alive connections: each makes one request, then all are held open.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;

use crate::http1;

/// Options of `idle`.
#[derive(clap::Args)]
pub struct Args {
    /// Target address.
    #[arg(long)]
    addr: SocketAddr,
    /// Request path.
    #[arg(long)]
    path: String,
    /// Bearer token sent on each connection.
    #[arg(long)]
    token: String,
    /// Connections to open.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
    /// Longest time to hold them, in seconds.
    #[arg(long, default_value_t = 120)]
    hold: u64,
}

/// Opens `count` connections, prints `ready COUNT`, and holds them for at most `hold` seconds.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let Args {
        addr,
        path,
        token,
        count,
        hold,
    } = args;
    let (addr, count, hold) = (*addr, *count, *hold);
    anyhow::ensure!(addr.ip().is_loopback(), "loopback targets only");
    let request = http1::get(path, &[format!("Authorization: Bearer {token}")]);
    let mut open = Vec::with_capacity(count);
    for i in 0..count {
        let mut stream = http1::connect(addr).with_context(|| format!("connection {i}"))?;
        let head =
            http1::exchange(&mut stream, &request).with_context(|| format!("connection {i}"))?;
        anyhow::ensure!(head.status == 200, "connection {i}: status {}", head.status);
        open.push(stream);
    }
    println!("ready {}", open.len());
    std::io::stdout().flush()?;
    std::thread::sleep(Duration::from_secs(hold));
    Ok(())
}
