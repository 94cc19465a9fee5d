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

// ---- Fashion-MNIST over HTTP: the Debian package's files, served as a mirror would. ----

/// Serves `/<name>.gz` from Debian's Fashion-MNIST folder for any request path.
fn fashion_reply(path: &str) -> Option<Reply> {
    let file = std::path::Path::new(gan::data::DEBIAN_FASHION_MNIST_DIR)
        .join(path.rsplit('/').next().unwrap_or(""));
    Some(match std::fs::read(&file) {
        Ok(b) => Reply::Ok(b),
        Err(_) => Reply::Status(404, "Not Found"),
    })
}

#[test]
fn fashion_mnist_download_verifies_decompressed_hashes() {
    use gan::data::{fetch_idx_set, load_fashion_mnist, FetchSource, FASHION_MNIST};
    let server = serve(4, fashion_reply);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("fashion-mnist");
    let out = fetch_idx_set(&FASHION_MNIST, &dir, FetchSource::Mirror(&server.base_url)).unwrap();
    assert!(out.iter().all(|o| o.was_downloaded()), "{out:?}");
    server.handle.join().unwrap();
    gan::data::verify_idx_set(&FASHION_MNIST, &dir).unwrap();
    let test = load_fashion_mnist(&dir, MnistSplit::Test).unwrap();
    assert_eq!(test.label_counts(), Some(vec![1_000; 10]));

    // A mirror serving MNIST under Fashion-MNIST's names fails the first file's checksum.
    let server = serve(1, |_| None);
    let other = tmp.path().join("other");
    let e = format!(
        "{:#}",
        fetch_idx_set(
            &FASHION_MNIST,
            &other,
            FetchSource::Mirror(&server.base_url)
        )
        .unwrap_err()
    );
    assert!(
        e.contains("checksum mismatch")
            && e.contains("train-images-idx3-ubyte")
            && e.contains(FASHION_MNIST.files[0].sha256),
        "{e}"
    );
    assert!(listing(&other).is_empty(), "{:?}", listing(&other));
    server.handle.join().unwrap();
}

// ---- CIFAR-10: archives generated here in the official layout, served or read locally. ----

use gan::data::cifar10::{load_cifar10, CifarSplit, RECORD_BYTES, TEST_FILE, TRAIN_FILES};
use gan::data::cifar_fetch::{
    fetch_cifar10, verify_cifar10, CifarArchive, CifarOutcome, CifarSource, ARCHIVE_DIR,
};
use md5::{Digest, Md5};

/// Records per file in the generated archives (the real ones hold 10,000).
const PER_FILE: usize = 7;

/// File `f` (0-4 train, 5 test) of a generated set: record `i` has label `(f + i) % 10` and
/// pixel `p` equal to `(p * 3 + f * 11 + i) % 256`.
fn cifar_file(f: usize) -> Vec<u8> {
    (0..PER_FILE)
        .flat_map(|i| {
            std::iter::once(((f + i) % 10) as u8)
                .chain((0..RECORD_BYTES - 1).map(move |p| ((p * 3 + f * 11 + i) % 256) as u8))
        })
        .collect()
}

fn bin_names() -> Vec<&'static str> {
    TRAIN_FILES.iter().copied().chain([TEST_FILE]).collect()
}

/// One tar entry: path, contents, and a link target when it is a symlink.
struct Entry {
    path: String,
    bytes: Vec<u8>,
    symlink_to: Option<&'static str>,
}

fn file(path: &str, bytes: Vec<u8>) -> Entry {
    Entry {
        path: path.to_string(),
        bytes,
        symlink_to: None,
    }
}

/// The official layout: the folder, a text file, the six batches and a readme.
fn good_entries() -> Vec<Entry> {
    let mut v = vec![file(
        &format!("{ARCHIVE_DIR}/batches.meta.txt"),
        b"airplane\nautomobile\n".to_vec(),
    )];
    for (f, name) in bin_names().into_iter().enumerate() {
        v.push(file(&format!("{ARCHIVE_DIR}/{name}"), cifar_file(f)));
    }
    v.push(file(
        &format!("{ARCHIVE_DIR}/readme.html"),
        b"<html/>".to_vec(),
    ));
    v
}

/// A gzipped tar of `entries`. Paths are written into the header raw, so that `..` and
/// absolute paths (which the tar crate's own setters refuse) can be planted.
fn tar_gz(entries: &[Entry]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    set_raw_path(&mut dir, &format!("{ARCHIVE_DIR}/"));
    b.append(&dir, std::io::empty()).unwrap();
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match e.symlink_to {
            Some(target) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_link_name(target).unwrap();
                h.set_size(0);
            }
            None => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(e.bytes.len() as u64);
            }
        }
        set_raw_path(&mut h, &e.path);
        b.append(&h, &e.bytes[..]).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

fn set_raw_path(h: &mut tar::Header, path: &str) {
    let name = &mut h.as_old_mut().name;
    name.fill(0);
    name[..path.len()].copy_from_slice(path.as_bytes());
    h.set_cksum();
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The generated good archive, made once: the server's reply function cannot capture it.
fn good_archive() -> &'static [u8] {
    static A: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    A.get_or_init(|| tar_gz(&good_entries()))
}

fn archive_for(bytes: &[u8]) -> CifarArchive<'static> {
    CifarArchive {
        md5: Box::leak(md5_hex(bytes).into_boxed_str()),
        records_per_file: PER_FILE,
    }
}

#[test]
fn cifar10_download_verifies_md5_and_unpacks_atomically() {
    let server = serve(1, |path| {
        Some(if path == "/kriz/cifar-10-binary.tar.gz" {
            Reply::Ok(good_archive().to_vec())
        } else {
            Reply::Status(404, "Not Found")
        })
    });
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cifar10");
    let base = format!("{}/kriz/", server.base_url);
    let out = fetch_cifar10(
        &dir,
        CifarSource::Mirror(&base),
        &archive_for(good_archive()),
    )
    .unwrap();
    server.handle.join().unwrap();
    match out {
        CifarOutcome::Installed { from, bytes, .. } => {
            assert_eq!(from, format!("{base}cifar-10-binary.tar.gz"));
            assert_eq!(bytes, good_archive().len() as u64);
        }
        other => panic!("{other:?}"),
    }
    // Exactly the six batches, byte for byte; no temporary file or folder left beside them.
    let mut want = bin_names();
    want.sort();
    assert_eq!(listing(&dir), want);
    for (f, name) in bin_names().into_iter().enumerate() {
        assert!(
            std::fs::read(dir.join(name)).unwrap() == cifar_file(f),
            "{name}"
        );
    }
    assert_eq!(listing(root.path()), vec!["cifar10"]);
    verify_cifar10(&dir, PER_FILE).unwrap();
    let train = load_cifar10(&dir, CifarSplit::Train).unwrap();
    assert_eq!((train.rows(), train.image_chw()), (35, Some([3, 32, 32])));
    assert_eq!(&train.labels().unwrap()[..8], &[0, 1, 2, 3, 4, 5, 6, 1]);
    assert_eq!(
        train.row(8)[2048],
        ((2048 * 3 + 11 + 1) % 256) as f32 / 255.0
    );

    // Already complete: nothing is fetched (this URL refuses connections).
    let dead = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let again = fetch_cifar10(
        &dir,
        CifarSource::Mirror(&dead_url),
        &archive_for(good_archive()),
    )
    .unwrap();
    assert_eq!(again, CifarOutcome::AlreadyPresent(dir.clone()));
}

#[test]
fn cifar10_wrong_md5_truncation_and_http_errors_leave_nothing() {
    // The real archive's MD5 (the default) does not match a generated archive.
    let server = serve(3, |path| {
        Some(if path.starts_with("/missing/") {
            Reply::Status(404, "Not Found")
        } else if path.ends_with("/cut/cifar-10-binary.tar.gz") {
            let full = good_archive();
            Reply::Truncated {
                body: full[..full.len() / 2].to_vec(),
                claimed: full.len(),
            }
        } else {
            Reply::Ok(good_archive().to_vec())
        })
    });
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cifar10");
    let real = gan::data::CIFAR10_ARCHIVE;
    let e = format!(
        "{:#}",
        fetch_cifar10(&dir, CifarSource::Mirror(&server.base_url), &real).unwrap_err()
    );
    assert!(
        e.contains("checksum mismatch")
            && e.contains("c32a1d4ab5d03f1284b67883e8d87530")
            && e.contains(&md5_hex(good_archive())),
        "{e}"
    );
    let cut = format!("{}/cut", server.base_url);
    let e = format!(
        "{:#}",
        fetch_cifar10(
            &dir,
            CifarSource::Mirror(&cut),
            &archive_for(good_archive())
        )
        .unwrap_err()
    );
    assert!(e.contains("truncated") || e.contains("interrupted"), "{e}");
    let e = format!(
        "{:#}",
        fetch_cifar10(
            &dir,
            CifarSource::Mirror(&format!("{}/missing/", server.base_url)),
            &real
        )
        .unwrap_err()
    );
    assert!(e.contains("HTTP 404"), "{e}");
    server.handle.join().unwrap();
    assert!(
        listing(root.path()).is_empty(),
        "{:?}",
        listing(root.path())
    );
}

/// Fetches a local archive made of `entries` into a fresh root; returns the error text after
/// checking that nothing was left behind.
fn refused(entries: Vec<Entry>) -> String {
    let root = tempfile::tempdir().unwrap();
    let bytes = tar_gz(&entries);
    let src = root.path().join("src.tar.gz");
    std::fs::write(&src, &bytes).unwrap();
    let dir = root.path().join("data").join("cifar10");
    let e = format!(
        "{:#}",
        fetch_cifar10(&dir, CifarSource::Local(&src), &archive_for(&bytes)).unwrap_err()
    );
    assert_eq!(
        listing(&root.path().join("data")),
        Vec::<String>::new(),
        "{e}"
    );
    assert_eq!(listing(root.path()), vec!["data", "src.tar.gz"], "{e}");
    e
}

#[test]
fn cifar10_hostile_archives_are_refused_and_leave_nothing() {
    // A local copy of the good archive installs (no network needed).
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("cifar-10-binary.tar.gz");
    std::fs::write(&src, good_archive()).unwrap();
    let dir = root.path().join("cifar10");
    // A leftover incomplete folder is replaced whole.
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("data_batch_1.bin"), b"partial").unwrap();
    std::fs::write(dir.join("stale.txt"), b"old").unwrap();
    fetch_cifar10(
        &dir,
        CifarSource::Local(root.path()),
        &archive_for(good_archive()),
    )
    .unwrap();
    assert_eq!(listing(&dir).len(), 6, "{:?}", listing(&dir));
    assert_eq!(
        listing(root.path()),
        vec!["cifar-10-binary.tar.gz", "cifar10"]
    );

    // `..` and absolute paths.
    let mut v = good_entries();
    v.push(file(
        "cifar-10-batches-bin/../../escaped.bin",
        b"x".to_vec(),
    ));
    let e = refused(v);
    assert!(e.contains("escaped.bin") && e.contains("outside"), "{e}");
    let mut v = good_entries();
    v.insert(0, file("/tmp/gan-cifar-absolute.bin", b"x".to_vec()));
    let e = refused(v);
    assert!(
        e.contains("/tmp/gan-cifar-absolute.bin") && e.contains("outside"),
        "{e}"
    );
    assert!(!std::path::Path::new("/tmp/gan-cifar-absolute.bin").exists());
    // A symlink in place of a batch.
    let mut v = good_entries();
    v[1] = Entry {
        path: format!("{ARCHIVE_DIR}/data_batch_1.bin"),
        bytes: Vec::new(),
        symlink_to: Some("/etc/passwd"),
    };
    let e = refused(v);
    assert!(
        e.contains("data_batch_1.bin") && e.contains("Symlink"),
        "{e}"
    );
    // A batch of the wrong size, declared in the header.
    let mut v = good_entries();
    v[3].bytes.extend([0u8; RECORD_BYTES]);
    let e = refused(v);
    assert!(
        e.contains("data_batch_3.bin") && e.contains(&format!("{}", 8 * RECORD_BYTES)),
        "{e}"
    );
    // A batch twice (the second could overwrite the first after checks).
    let mut v = good_entries();
    v.push(file(
        &format!("{ARCHIVE_DIR}/test_batch.bin"),
        cifar_file(0),
    ));
    let e = refused(v);
    assert!(e.contains("test_batch.bin") && e.contains("twice"), "{e}");
    // A batch missing.
    let mut v = good_entries();
    v.remove(6);
    let e = refused(v);
    assert!(e.contains("test_batch.bin"), "{e}");
    // A label outside 0-9.
    let mut v = good_entries();
    v[2].bytes[RECORD_BYTES * 3] = 200;
    let e = refused(v);
    assert!(
        e.contains("data_batch_2.bin") && e.contains("record 3 has label 200"),
        "{e}"
    );
    // Not gzip at all.
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("junk.tar.gz");
    std::fs::write(&src, b"not an archive").unwrap();
    let e = format!(
        "{:#}",
        fetch_cifar10(
            &root.path().join("c"),
            CifarSource::Local(&src),
            &archive_for(b"not an archive")
        )
        .unwrap_err()
    );
    assert!(
        e.contains("tar") || e.contains("gzip") || e.contains("header"),
        "{e}"
    );
    assert_eq!(listing(root.path()), vec!["junk.tar.gz"]);
}
