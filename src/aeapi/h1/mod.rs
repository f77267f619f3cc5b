//! A lean HTTP/1.1 client for plain-`http` targets: the agents' calls, long-polls included.
//!
//! Why not reqwest here: a load harness holds one connection per long-polling agent, and hyper's
//! client connection costs about 26 KB each (an 8 KB read buffer, an 8 KB write buffer and a
//! request channel, none of which reqwest lets us size) and a task hop per request. This client
//! writes a request from one buffer and reads the answer on the caller's task: an idle
//! connection is a socket and nothing else, and a connection in use holds a read buffer sized
//! to what arrives (1 KiB to start).
//!
//! What it speaks: requests with `Content-Length` bodies; responses with `Content-Length`,
//! `Transfer-Encoding: chunked` or read-to-close bodies, 1xx interim answers skipped, 204/304
//! without a body; keep-alive unless the server says `Connection: close` (HTTP/1.0: unless it
//! says `keep-alive`). Idle connections are kept in a bounded pool; one that the server closed
//! while idle is found out before reuse, and a request that meets a reused connection closed
//! before any byte of the answer is built and sent again on a fresh connection. Timeouts
//! are the caller's (the whole exchange runs inside one). TLS, proxies and cookies are
//! reqwest's business: the runner uses this client only for `http://` targets without
//! per-agent cookie jars.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The read buffer a request starts with (most AEAPI answers fit, headers included).
const FIRST_READ: usize = 1024;
/// The longest response head read before giving up on it.
const MAX_HEAD: usize = 64 * 1024;
/// The most header lines a response head may have.
const MAX_HEADERS: usize = 64;
/// The longest chunk-size line (with extensions) or trailer section of a chunked body.
const MAX_LINE: usize = 4096;
/// More than the fixed text of a request `request` writes (its variable parts aside).
const REQUEST_TEXT: usize = 128;
/// Idle connections kept for reuse; more are closed.
const MAX_IDLE: usize = 4096;

/// A pool of HTTP/1.1 connections to one `http://host:port`.
pub struct Client {
    host: String,
    ip: Option<IpAddr>,
    port: u16,
    /// The `Host` header's value.
    authority: String,
    connect_timeout: Duration,
    idle: Mutex<Vec<TcpStream>>,
}

/// What a response carried that the harness reads.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub www_authenticate: Option<String>,
    pub body: Bytes,
}

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("connect: {0}")]
    Connect(io::Error),
    #[error("connect timed out")]
    ConnectTimeout,
    /// The connection broke or closed before the answer was complete.
    #[error("connection closed or reset: {0}")]
    Reset(String),
    /// The answer is not HTTP/1.x as this client reads it.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The body is longer than the limit (announced or read); `excerpt` is its first bytes read.
    #[error("response body exceeds the limit")]
    TooLong { status: u16, excerpt: Bytes },
    #[error("{0}")]
    Io(io::Error),
    /// The request cannot be written (a header value with a line break would split it).
    #[error("request not sent: {0}")]
    Invalid(String),
}

/// How one attempt on one connection ended badly.
enum Fail {
    /// The connection was closed (or reset) before any byte of the answer: a reused one may
    /// simply have been closed by the server while idle.
    Stale(String),
    Error(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Error(e)
    }
}

/// The parts of a response head the exchange needs.
struct Head {
    len: usize,
    status: u16,
    content_length: Option<u64>,
    chunked: bool,
    keep_alive: bool,
    content_type: Option<String>,
    www_authenticate: Option<String>,
}

impl Client {
    /// A client for `url`'s host and port; `None` unless the scheme is `http`.
    pub fn new(url: &reqwest::Url, connect_timeout: Duration) -> Option<Client> {
        if url.scheme() != "http" {
            return None;
        }
        let port = url.port_or_known_default()?;
        let (host, ip) = match url.host()? {
            url::Host::Domain(d) => (d.to_string(), None),
            url::Host::Ipv4(a) => (a.to_string(), Some(IpAddr::V4(a))),
            url::Host::Ipv6(a) => (a.to_string(), Some(IpAddr::V6(a))),
        };
        let authority = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str()?),
            None => url.host_str()?.to_string(),
        };
        Some(Client {
            host,
            ip,
            port,
            authority,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The `Host` header's value.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Sends the request `build` writes (a whole HTTP/1.1 request, freed once written) and
    /// reads the answer, its body at most `limit` bytes, on an idle connection if one is at
    /// hand. A reused connection closed before it answered (the server closed it while idle)
    /// is not the target's error: the request is built again and sent once more on a fresh
    /// connection.
    pub async fn send(
        &self,
        build: impl Fn() -> Result<Vec<u8>, Error>,
        limit: usize,
    ) -> Result<Response, Error> {
        let mut reuse = true;
        loop {
            let reused = if reuse { self.checkout() } else { None };
            let was_reused = reused.is_some();
            let mut stream = match reused {
                Some(s) => s,
                None => self.connect().await?,
            };
            match exchange(&mut stream, build()?, limit).await {
                Ok((resp, keep)) => {
                    if keep {
                        self.checkin(stream);
                    }
                    return Ok(resp);
                }
                Err(Fail::Stale(_)) if was_reused => reuse = false,
                Err(Fail::Stale(why)) => return Err(Error::Reset(why)),
                Err(Fail::Error(e)) => return Err(e),
            }
        }
    }

    /// An idle connection the server has not closed, if any.
    fn checkout(&self) -> Option<TcpStream> {
        loop {
            let stream = self.idle.lock().ok()?.pop()?;
            let mut probe = [0u8; 1];
            // WouldBlock: open and quiet. Ok(0) is a close; data nobody asked for is junk.
            match stream.try_read(&mut probe) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Some(stream),
                _ => continue,
            }
        }
    }

    fn checkin(&self, stream: TcpStream) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(stream);
        }
    }

    async fn connect(&self) -> Result<TcpStream, Error> {
        let connect = async {
            let stream = match self.ip {
                Some(ip) => TcpStream::connect(SocketAddr::new(ip, self.port)).await,
                None => TcpStream::connect((self.host.as_str(), self.port)).await,
            }
            .map_err(Error::Connect)?;
            stream.set_nodelay(true).map_err(Error::Connect)?;
            Ok(stream)
        };
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Ok(r) => r,
            Err(_) => Err(Error::ConnectTimeout),
        }
    }
}

/// Whether `e` means the peer closed or reset the connection.
fn is_close(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected
    )
}

/// Reads more of the answer into `buf` (reserving at least `want` bytes of room); 0 at EOF.
async fn fill(s: &mut TcpStream, buf: &mut BytesMut, want: usize) -> io::Result<usize> {
    if buf.capacity() - buf.len() < want.clamp(1, FIRST_READ) {
        buf.reserve(want.max(1));
    }
    s.read_buf(buf).await
}

/// Like `fill`, but an EOF or a close is an error: the answer was cut short.
async fn fill_more(s: &mut TcpStream, buf: &mut BytesMut, want: usize) -> Result<(), Error> {
    match fill(s, buf, want).await {
        Ok(0) => Err(Error::Reset("closed before the answer was complete".into())),
        Ok(_) => Ok(()),
        Err(e) if is_close(&e) => Err(Error::Reset(e.to_string())),
        Err(e) => Err(Error::Io(e)),
    }
}

/// One request and its answer on `s`; the answer and whether `s` may be reused.
async fn exchange(
    s: &mut TcpStream,
    request: Vec<u8>,
    limit: usize,
) -> Result<(Response, bool), Fail> {
    if let Err(e) = s.write_all(&request).await {
        return Err(if is_close(&e) {
            Fail::Stale(e.to_string())
        } else {
            Fail::Error(Error::Io(e))
        });
    }
    // A held long-poll keeps neither the request nor a read buffer until its answer arrives.
    drop(request);
    if let Err(e) = s.readable().await {
        return Err(Fail::Error(Error::Io(e)));
    }
    let mut buf = BytesMut::with_capacity(FIRST_READ);
    let head = read_head(s, &mut buf).await?;
    buf.advance(head.len);
    let (body, clean) = if head.status == 204 || head.status == 304 {
        (Bytes::new(), true)
    } else if head.chunked {
        (read_chunked(s, &mut buf, limit, head.status).await?, true)
    } else if let Some(n) = head.content_length {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > limit {
            return Err(Error::TooLong {
                status: head.status,
                excerpt: Bytes::new(),
            }
            .into());
        }
        while buf.len() < n {
            let missing = n - buf.len();
            fill_more(s, &mut buf, missing).await?;
        }
        (buf.split_to(n).freeze(), true)
    } else {
        (read_to_close(s, &mut buf, limit, head.status).await?, false)
    };
    // Bytes past the answer (nothing was pipelined) make the connection unfit for reuse.
    let keep = clean && head.keep_alive && buf.is_empty();
    let resp = Response {
        status: head.status,
        content_type: head.content_type,
        www_authenticate: head.www_authenticate,
        body,
    };
    Ok((resp, keep))
}

/// Reads and parses the response head, skipping 1xx interim answers.
async fn read_head(s: &mut TcpStream, buf: &mut BytesMut) -> Result<Head, Fail> {
    let mut answered = false;
    loop {
        if !buf.is_empty() {
            match parse_head(buf)? {
                Some(h) if (100..200).contains(&h.status) && h.status != 101 => {
                    buf.advance(h.len);
                    continue;
                }
                Some(h) => return Ok(h),
                None if buf.len() > MAX_HEAD => {
                    let why = format!("response head longer than {MAX_HEAD} bytes");
                    return Err(Error::Malformed(why).into());
                }
                None => {}
            }
        }
        match fill(s, buf, FIRST_READ).await {
            Ok(0) if !answered => return Err(Fail::Stale("closed without answering".into())),
            Ok(0) => return Err(Error::Reset("closed in the middle of the head".into()).into()),
            Ok(_) => answered = true,
            Err(e) if is_close(&e) && !answered => return Err(Fail::Stale(e.to_string())),
            Err(e) if is_close(&e) => return Err(Error::Reset(e.to_string()).into()),
            Err(e) => return Err(Error::Io(e).into()),
        }
    }
}

/// The head at the start of `buf`, `None` if it is not complete yet.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Error::Malformed(e.to_string())),
    };
    let status = resp.code.unwrap_or(0);
    let mut head = Head {
        len,
        status,
        content_length: None,
        chunked: false,
        // HTTP/1.1 keeps the connection open unless told otherwise; 1.0 closes it.
        keep_alive: resp.version == Some(1),
        content_type: None,
        www_authenticate: None,
    };
    for h in resp.headers.iter() {
        let value = || String::from_utf8_lossy(h.value).trim().to_string();
        if h.name.eq_ignore_ascii_case("content-length") {
            let n = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok())
                .ok_or_else(|| Error::Malformed(format!("Content-Length `{}`", value())))?;
            if head.content_length.is_some_and(|m| m != n) {
                return Err(Error::Malformed("two different Content-Lengths".into()));
            }
            head.content_length = Some(n);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            head.chunked = value().to_ascii_lowercase().ends_with("chunked");
        } else if h.name.eq_ignore_ascii_case("connection") {
            let v = value().to_ascii_lowercase();
            if v.split(',').any(|t| t.trim() == "close") {
                head.keep_alive = false;
            } else if v.split(',').any(|t| t.trim() == "keep-alive") {
                head.keep_alive = true;
            }
        } else if h.name.eq_ignore_ascii_case("content-type") {
            head.content_type = Some(value());
        } else if h.name.eq_ignore_ascii_case("www-authenticate") {
            head.www_authenticate = Some(value());
        }
    }
    Ok(Some(head))
}

/// The first `n` bytes of `body`, for an excerpt of a body that was too long.
fn excerpt_of(body: &[u8]) -> Bytes {
    Bytes::copy_from_slice(&body[..body.len().min(512)])
}

/// A chunked body, decoded, at most `limit` bytes; trailers are read and dropped.
async fn read_chunked(
    s: &mut TcpStream,
    buf: &mut BytesMut,
    limit: usize,
    status: u16,
) -> Result<Bytes, Fail> {
    let mut body = BytesMut::new();
    loop {
        let line = read_line(s, buf).await?;
        let size_text = String::from_utf8_lossy(&line);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| Error::Malformed(format!("chunk size `{size_text}`")))?;
        if size == 0 {
            // Trailer lines up to the empty one.
            while !read_line(s, buf).await?.is_empty() {}
            return Ok(body.freeze());
        }
        if body.len().saturating_add(size) > limit {
            let excerpt = excerpt_of(&[&body[..], &buf[..buf.len().min(size)]].concat());
            return Err(Error::TooLong { status, excerpt }.into());
        }
        while buf.len() < size + 2 {
            let missing = size + 2 - buf.len();
            fill_more(s, buf, missing).await?;
        }
        body.extend_from_slice(&buf[..size]);
        if &buf[size..size + 2] != b"\r\n" {
            return Err(Error::Malformed("chunk not followed by CRLF".into()).into());
        }
        buf.advance(size + 2);
    }
}

/// One CRLF-terminated line of a chunked body (without the CRLF).
async fn read_line(s: &mut TcpStream, buf: &mut BytesMut) -> Result<Bytes, Fail> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf.split_to(i).freeze();
            buf.advance(2);
            return Ok(line);
        }
        if buf.len() > MAX_LINE {
            return Err(Error::Malformed("chunk line too long".into()).into());
        }
        fill_more(s, buf, FIRST_READ).await?;
    }
}

/// A body without a length: everything up to the close, at most `limit` bytes.
async fn read_to_close(
    s: &mut TcpStream,
    buf: &mut BytesMut,
    limit: usize,
    status: u16,
) -> Result<Bytes, Fail> {
    loop {
        if buf.len() > limit {
            return Err(Error::TooLong {
                status,
                excerpt: excerpt_of(buf),
            }
            .into());
        }
        match fill(s, buf, FIRST_READ.max(buf.len())).await {
            Ok(0) => return Ok(buf.split().freeze()),
            Ok(_) => {}
            Err(e) if is_close(&e) => return Err(Error::Reset(e.to_string()).into()),
            Err(e) => return Err(Error::Io(e).into()),
        }
    }
}

/// Writes an HTTP/1.1 request: `method target`, `Host`, the optional bearer token, `headers`,
/// and a body with its type and length. Header names and values with CR or LF are refused
/// (they would split the request).
pub fn request(
    method: &str,
    target: &str,
    authority: &str,
    bearer: Option<&str>,
    headers: &[(String, String)],
    body: Option<(&str, &[u8])>,
) -> Result<Vec<u8>, Error> {
    let bad = |s: &str| s.bytes().any(|b| b == b'\r' || b == b'\n');
    if bad(target) || bearer.is_some_and(bad) || headers.iter().any(|(k, v)| bad(k) || bad(v)) {
        return Err(Error::Invalid("a request header holds a line break".into()));
    }
    // Room for what is written below: the variable parts plus the fixed text (request line,
    // header names, CRLFs, the length's digits), which is under REQUEST_TEXT bytes.
    let header_len: usize = headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    let capacity = REQUEST_TEXT
        + method.len()
        + target.len()
        + authority.len()
        + bearer.map_or(0, str::len)
        + header_len
        + body.map_or(0, |(t, b)| t.len() + b.len());
    let mut out = Vec::with_capacity(capacity);
    let mut put = |parts: &[&[u8]]| parts.iter().for_each(|p| out.extend_from_slice(p));
    put(&[
        method.as_bytes(),
        b" ",
        target.as_bytes(),
        b" HTTP/1.1\r\nhost: ",
    ]);
    put(&[authority.as_bytes(), b"\r\naccept: */*\r\n"]);
    if let Some(tok) = bearer {
        put(&[b"authorization: Bearer ", tok.as_bytes(), b"\r\n"]);
    }
    for (k, v) in headers {
        put(&[k.as_bytes(), b": ", v.as_bytes(), b"\r\n"]);
    }
    match body {
        Some((content_type, bytes)) => {
            let len = bytes.len().to_string();
            put(&[b"content-type: ", content_type.as_bytes(), b"\r\n"]);
            put(&[b"content-length: ", len.as_bytes(), b"\r\n\r\n", bytes]);
        }
        None if method == "POST" => put(&[b"content-length: 0\r\n\r\n"]),
        None => put(&[b"\r\n"]),
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
