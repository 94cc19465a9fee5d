// `fetch_mnist` / `verify_mnist` against a tiny HTTP/1.1 server on 127.0.0.1 that serves the
// real gzipped files from the shared data directory, honestly or in various broken ways.
// (Plain comments, not `//!`: the scratch crate `include!`s this file.)

use gan::data::{fetch_mnist, load_mnist, verify_mnist, MnistSplit, MNIST_FILES};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

fn data_dir() -> PathBuf {
    match std::env::var_os("GAN_DATA_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/mnist")),
    }
}

/// The shared `<name>.gz` bytes, exactly what a mirror serves.
fn shared_gz(name: &str) -> Vec<u8> {
    let path = data_dir().join(format!("{name}.gz"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// What the server sends for one request.
enum Reply {
    /// 200 with this body.
    Ok(Vec<u8>),
    /// 200 whose Content-Length promises `claimed` bytes, but only `body` is sent before closing.
    Truncated { body: Vec<u8>, claimed: usize },
    /// An error status with a short text body.
    Status(u16, &'static str),
}

/// Serves `/<name>.gz` from the shared dir; `tamper` may replace the reply for a request path.
/// Handles at most `max_requests` connections (one request each, `Connection: close`) and gives
/// up after 60 s, so the thread always ends by itself.
struct Server {
    base_url: String,
    requests: Arc<AtomicUsize>,
    handle: JoinHandle<()>,
}

fn serve(max_requests: usize, tamper: fn(&str) -> Option<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while counter.load(Ordering::SeqCst) < max_requests && Instant::now() < deadline {
            match listener.accept() {
                Ok((stream, _)) => {
                    counter.fetch_add(1, Ordering::SeqCst);
                    // A client that hangs up early is the client's problem, not the server's.
                    let _ = handle_one(stream, tamper);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    });
    Server {
        base_url,
        requests,
        handle,
    }
}

fn handle_one(stream: TcpStream, tamper: fn(&str) -> Option<Reply>) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Read the headers to the blank line so closing the socket doesn't reset unread input.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .to_string();
    let reply = tamper(&path).unwrap_or_else(|| {
        let file = data_dir().join(path.trim_start_matches('/'));
        match std::fs::read(file) {
            Ok(b) => Reply::Ok(b),
            Err(_) => Reply::Status(404, "Not Found"),
        }
    });
    let mut out = stream;
    let (status, reason, body, claimed) = match reply {
        Reply::Ok(b) => (200, "OK", b.clone(), b.len()),
        Reply::Truncated { body, claimed } => (200, "OK", body, claimed),
        Reply::Status(code, reason) => (code, reason, reason.as_bytes().to_vec(), reason.len()),
    };
    write!(
        out,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/octet-stream\r\nContent-Length: {claimed}\r\nConnection: close\r\n\r\n"
    )?;
    out.write_all(&body)?;
    out.flush()
}

/// Names of the entries in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn good_download_then_verify_then_nothing_to_do() {
    let server = serve(4, |_| None);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mnist"); // does not exist yet: fetch creates it
    let out = fetch_mnist(&dir, &format!("{}/", server.base_url)).unwrap();
    assert_eq!(out.len(), 4);
    for (o, f) in out.iter().zip(&MNIST_FILES) {
        assert!(o.was_downloaded(), "{o:?}");
        assert_eq!(o.name(), f.name);
        assert_eq!(o.path(), dir.join(format!("{}.gz", f.name)));
    }
    assert_eq!(server.requests.load(Ordering::SeqCst), 4);
    server.handle.join().unwrap();
    // Byte-for-byte the served files, and nothing else in the directory.
    for f in &MNIST_FILES {
        let got = std::fs::read(dir.join(format!("{}.gz", f.name))).unwrap();
        assert!(got == shared_gz(f.name), "{} differs", f.name);
    }
    assert_eq!(listing(&dir).len(), 4, "{:?}", listing(&dir));
    verify_mnist(&dir).unwrap();
    assert_eq!(load_mnist(&dir, MnistSplit::Test).unwrap().rows(), 10_000);

    // Second run: everything present and valid, so no request is made (none could succeed:
    // the first server has stopped and this URL refuses connections).
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let again = fetch_mnist(&dir, &dead_url).unwrap();
    assert!(again.iter().all(|o| !o.was_downloaded()), "{again:?}");
}

#[test]
fn truncated_body_leaves_no_file() {
    let server = serve(1, |path| {
        path.contains("train-images").then(|| {
            let full = shared_gz("train-images-idx3-ubyte");
            Reply::Truncated {
                claimed: full.len(),
                body: full[..full.len() / 3].to_vec(),
            }
        })
    });
    let tmp = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        fetch_mnist(tmp.path(), &server.base_url).unwrap_err()
    );
    assert!(err.contains("train-images-idx3-ubyte"), "{err}");
    assert!(err.contains(&server.base_url), "{err}");
    assert!(
        err.contains("interrupted") || err.contains("truncated"),
        "{err}"
    );
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
    server.handle.join().unwrap();
}

#[test]
fn wrong_file_fails_checksum_and_keeps_earlier_files() {
    // train-images is served honestly; train-labels gets the bytes of the test labels.
    let server = serve(2, |path| {
        path.contains("train-labels")
            .then(|| Reply::Ok(shared_gz("t10k-labels-idx1-ubyte")))
    });
    let tmp = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        fetch_mnist(tmp.path(), &server.base_url).unwrap_err()
    );
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(err.contains("train-labels-idx1-ubyte"), "{err}");
    assert!(err.contains(MNIST_FILES[1].sha256), "{err}");
    assert_eq!(listing(tmp.path()), vec!["train-images-idx3-ubyte.gz"]);
    server.handle.join().unwrap();
    // The directory is incomplete, and verification says which files are missing.
    let err = format!("{:#}", verify_mnist(tmp.path()).unwrap_err());
    assert!(
        err.contains("train-labels-idx1-ubyte") && err.contains("t10k-images-idx3-ubyte"),
        "{err}"
    );
    assert!(!err.contains("train-images-idx3-ubyte.gz:"), "{err}");
}

#[test]
fn http_500_leaves_no_file() {
    let server = serve(1, |_| Some(Reply::Status(500, "Internal Server Error")));
    let tmp = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        fetch_mnist(tmp.path(), &server.base_url).unwrap_err()
    );
    assert!(err.contains("HTTP 500"), "{err}");
    let url = format!("{}/train-images-idx3-ubyte.gz", server.base_url);
    assert!(err.contains(&url), "{err}");
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
    server.handle.join().unwrap();
}

#[test]
fn connection_refused_leaves_no_file() {
    // Bind then drop: the port is (almost certainly) closed for the moment of the test.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let tmp = tempfile::tempdir().unwrap();
    let err = format!("{:#}", fetch_mnist(tmp.path(), &url).unwrap_err());
    assert!(err.contains("train-images-idx3-ubyte"), "{err}");
    assert!(err.to_lowercase().contains("connect"), "{err}");
    assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
}

#[test]
fn corrupt_existing_file_is_detected_and_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    for f in &MNIST_FILES {
        std::fs::write(tmp.path().join(format!("{}.gz", f.name)), shared_gz(f.name)).unwrap();
    }
    verify_mnist(tmp.path()).unwrap();
    // Flip one byte inside the (uncompressed) test labels.
    let labels = tmp.path().join("t10k-labels-idx1-ubyte.gz");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&std::fs::read(&labels).unwrap()[..]),
        &mut raw,
    )
    .unwrap();
    raw[100] ^= 1;
    std::fs::remove_file(&labels).unwrap();
    std::fs::write(tmp.path().join("t10k-labels-idx1-ubyte"), &raw).unwrap();
    let err = format!("{:#}", verify_mnist(tmp.path()).unwrap_err());
    assert!(
        err.contains("t10k-labels-idx1-ubyte") && err.contains("SHA-256 mismatch"),
        "{err}"
    );

    // Fetch downloads only the bad file, as .gz, which then takes precedence over the raw copy.
    let server = serve(1, |_| None);
    let out = fetch_mnist(tmp.path(), &server.base_url).unwrap();
    let downloaded: Vec<_> = out
        .iter()
        .filter(|o| o.was_downloaded())
        .map(|o| o.name())
        .collect();
    assert_eq!(downloaded, vec!["t10k-labels-idx1-ubyte"]);
    server.handle.join().unwrap();
    verify_mnist(tmp.path()).unwrap();
}
