//! A minimal blocking HTTP/1.1 client over `std::net`: enough for checks and idle connections.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::Context as _;

/// A response head (header names lower-cased); the body is read and dropped.
pub struct Head {
    /// Status code.
    pub status: u16,
    /// Header fields in order.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A GET request for `path` with extra header lines (`"Name: value"`).
pub fn get(path: &str, extra: &[String]) -> String {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: bench.local\r\n");
    for line in extra {
        request.push_str(line);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    request
}

/// Connects with bounded timeouts.
pub fn connect(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends `request` and reads one whole response, leaving the connection usable.
pub fn exchange(stream: &mut TcpStream, request: &str) -> anyhow::Result<Head> {
    stream.write_all(request.as_bytes())?;
    let mut reader = BufReader::new(&mut *stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP response: {line:?}"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            anyhow::bail!("connection closed inside the response head");
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let head = Head { status, headers };
    if let Some(length) = head.header("content-length") {
        let length: u64 = length.parse().context("bad Content-Length")?;
        std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink())?;
    } else if head
        .header("transfer-encoding")
        .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
    {
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .context("bad chunk size")?;
            std::io::copy(&mut (&mut reader).take(size + 2), &mut std::io::sink())?;
            if size == 0 {
                break;
            }
        }
    } else if status != 204 && status != 304 {
        // Delimited by close.
        std::io::copy(&mut reader, &mut std::io::sink())?;
    }
    anyhow::ensure!(
        reader.buffer().is_empty(),
        "unexpected bytes after the response"
    );
    Ok(head)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn reads_sized_and_chunked_responses_on_one_connection() -> anyhow::Result<()> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let server = std::thread::spawn(move || -> std::io::Result<()> {
            let (mut stream, _) = listener.accept()?;
            let mut buf = [0; 1024];
            let _ = stream.read(&mut buf)?;
            stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Bench-User-Id: u\r\n\r\nok\n",
            )?;
            let _ = stream.read(&mut buf)?;
            stream.write_all(
                b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nno\r\n0\r\n\r\n",
            )
        });
        let mut stream = connect(addr)?;
        let first = exchange(&mut stream, &get("/", &[]))?;
        assert_eq!(first.status, 200);
        assert_eq!(first.header("x-bench-user-id"), Some("u"));
        let second = exchange(&mut stream, &get("/", &[]))?;
        assert_eq!(second.status, 401);
        server
            .join()
            .map_err(|_| anyhow::anyhow!("server panicked"))??;
        Ok(())
    }
}
