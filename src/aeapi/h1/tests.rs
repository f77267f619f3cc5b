//! The lean client against scripted servers on 127.0.0.1 port 0: bodies by length, chunks and
//! close; interim answers; keep-alive reuse; a server closing idle connections; limits;
//! malformed answers; requests that would split.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// What the scripted server does after answering a request.
#[derive(Clone, Copy, PartialEq)]
enum After {
    KeepOpen,
    Close,
}

/// A server answering every request (a head ending in an empty line; bodies are not sent by
/// these tests) with `answer`, counting the connections it accepted. It lives as long as the
/// test's runtime.
async fn server(answer: &'static [u8], after: After) -> (Client, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepts = Arc::new(AtomicUsize::new(0));
    let counted = accepts.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut buf).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    seen.extend_from_slice(&buf[..n]);
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        seen.drain(..end + 4);
                        if s.write_all(answer).await.is_err() {
                            return;
                        }
                        if after == After::Close {
                            return;
                        }
                    }
                }
            });
        }
    });
    let url = reqwest::Url::parse(&format!("http://{addr}")).expect("url");
    let client = Client::new(&url, Duration::from_secs(2)).expect("http client");
    (client, accepts)
}

fn get(client: &Client) -> Vec<u8> {
    request("GET", "/x?a=1", client.authority(), None, &[], None).expect("request")
}

const LIMIT: usize = 1024;

/// Sends `get`, its body at most `limit` bytes.
async fn ask(c: &Client, limit: usize) -> Result<Response, Error> {
    c.send(|| Ok(get(c)), limit).await
}

#[tokio::test]
async fn bodies_by_length_share_one_connection() {
    let (c, accepts) = server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
        After::KeepOpen,
    )
    .await;
    for _ in 0..3 {
        let r = ask(&c, LIMIT).await.expect("answer");
        assert_eq!(r.status, 200);
        assert_eq!(&r.body[..], b"{}");
        assert_eq!(r.content_type.as_deref(), Some("application/json"));
    }
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn chunked_bodies_are_decoded_and_trailers_dropped() {
    let (c, accepts) = server(
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nx-t: 1\r\n\r\n",
        After::KeepOpen,
    )
    .await;
    for _ in 0..2 {
        let r = ask(&c, LIMIT).await.expect("answer");
        assert_eq!(&r.body[..], b"hello world");
    }
    assert_eq!(accepts.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn interim_answers_are_skipped_and_204_has_no_body() {
    let (c, _) = server(
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nwww-authenticate: Bearer\r\n\r\n",
        After::KeepOpen,
    )
    .await;
    let r = ask(&c, LIMIT).await.expect("answer");
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    assert_eq!(r.www_authenticate.as_deref(), Some("Bearer"));
}

#[tokio::test]
async fn a_body_to_the_close_ends_the_connection() {
    let (c, accepts) = server(
        b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabc",
        After::Close,
    )
    .await;
    for _ in 0..2 {
        let r = ask(&c, LIMIT).await.expect("answer");
        assert_eq!(&r.body[..], b"abc");
    }
    assert_eq!(accepts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_connection_the_server_closed_while_idle_is_not_an_error() {
    // Keep-alive is implied, but the server closes after each answer: the next request must
    // go out on a fresh connection, whether the close is seen before reuse or only after.
    let (c, accepts) = server(
        b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx",
        After::Close,
    )
    .await;
    for i in 0..4 {
        if i % 2 == 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let r = ask(&c, LIMIT).await.expect("answer");
        assert_eq!(&r.body[..], b"x");
    }
    assert_eq!(accepts.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_reused_connection_closed_before_answering_is_sent_again_fresh() {
    // Each connection answers its first request and closes at its second, unanswered: the
    // second request goes out on the pooled connection (still open when it is taken), meets
    // the close, and is built again and answered on a fresh connection, not reported as an
    // error of the target.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let accepts = Arc::new(AtomicUsize::new(0));
    let counted = accepts.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                if s.read(&mut buf).await.unwrap_or(0) > 0 {
                    let _ = s
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nx")
                        .await;
                }
                let _ = s.read(&mut buf).await;
            });
        }
    });
    let url = reqwest::Url::parse(&format!("http://{addr}")).expect("url");
    let c = Client::new(&url, Duration::from_secs(2)).expect("client");
    let builds = AtomicUsize::new(0);
    let build = || {
        builds.fetch_add(1, Ordering::SeqCst);
        Ok(get(&c))
    };
    let first = c.send(build, LIMIT).await.expect("first answer");
    assert_eq!(&first.body[..], b"x");
    let again = c.send(build, LIMIT).await.expect("answered fresh");
    assert_eq!(&again.body[..], b"x");
    assert_eq!(
        builds.load(Ordering::SeqCst),
        3,
        "the second request built twice"
    );
    assert_eq!(accepts.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn bodies_over_the_limit_stop_the_read() {
    let (c, _) = server(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2000\r\n\r\n",
        After::KeepOpen,
    )
    .await;
    match ask(&c, LIMIT).await {
        Err(Error::TooLong { status, excerpt }) => {
            assert_eq!(status, 200);
            assert!(excerpt.is_empty());
        }
        other => panic!("announced 2000 bytes over a 1024 limit: {other:?}"),
    }
    let (c, _) = server(
        b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
        After::KeepOpen,
    )
    .await;
    match ask(&c, 20).await {
        Err(Error::TooLong { status, excerpt }) => {
            assert_eq!(status, 201);
            assert!(excerpt.starts_with(b"0123456789abcdef"), "{excerpt:?}");
        }
        other => panic!("32 chunked bytes over a 20 limit: {other:?}"),
    }
}

#[tokio::test]
async fn answers_that_are_not_http_are_malformed() {
    let (c, _) = server(b"SSH-2.0-OpenSSH\r\n\r\n", After::KeepOpen).await;
    let e = ask(&c, LIMIT).await.expect_err("not HTTP");
    assert!(matches!(e, Error::Malformed(_)), "{e:?}");
    let (c, _) = server(
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nabc",
        After::KeepOpen,
    )
    .await;
    let e = ask(&c, LIMIT).await.expect_err("two lengths");
    assert!(
        e.to_string().contains("two different Content-Lengths"),
        "{e}"
    );
}

#[tokio::test]
async fn a_fresh_connection_closed_without_an_answer_is_a_reset() {
    let (c, _) = server(b"", After::Close).await;
    let e = ask(&c, LIMIT).await.expect_err("no answer");
    assert!(matches!(e, Error::Reset(_)), "{e:?}");
}

#[tokio::test]
async fn refused_connections_are_connect_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let url = reqwest::Url::parse(&format!("http://{addr}")).expect("url");
    let c = Client::new(&url, Duration::from_secs(2)).expect("client");
    let e = ask(&c, LIMIT).await.expect_err("refused");
    assert!(matches!(e, Error::Connect(_)), "{e:?}");
}

#[test]
fn requests_carry_host_token_and_length() {
    let get = request("GET", "/a?b=c", "h:1", Some("tok"), &[], None).expect("get");
    assert_eq!(
        String::from_utf8(get).expect("utf8"),
        "GET /a?b=c HTTP/1.1\r\nhost: h:1\r\naccept: */*\r\nauthorization: Bearer tok\r\n\r\n"
    );
    let post = request("POST", "/p", "h", None, &[], None).expect("post");
    assert!(post.ends_with(b"content-length: 0\r\n\r\n"));
    let json = request(
        "POST",
        "/p",
        "h",
        None,
        &[],
        Some(("application/json", b"{}")),
    )
    .expect("json");
    assert!(json.ends_with(b"content-type: application/json\r\ncontent-length: 2\r\n\r\n{}"));
}

#[test]
fn line_breaks_in_headers_are_refused() {
    let headers = [("x-a".to_string(), "1\r\nx-b: 2".to_string())];
    assert!(request("GET", "/", "h", None, &headers, None).is_err());
    assert!(request("GET", "/", "h", Some("t\nx"), &[], None).is_err());
}

#[test]
fn only_plain_http_urls_get_a_lean_client() {
    let https = reqwest::Url::parse("https://example.com").expect("url");
    assert!(Client::new(&https, Duration::from_secs(1)).is_none());
    let v6 = reqwest::Url::parse("http://[::1]:8080/base").expect("url");
    assert_eq!(
        Client::new(&v6, Duration::from_secs(1))
            .expect("client")
            .authority(),
        "[::1]:8080"
    );
}
