//! Reader for the IDX format MNIST is distributed in.
//!
//! An IDX file is a 4-byte magic number `00 00 TT NN` (TT = element type, NN = number of
//! dimensions), then NN big-endian `u32` dimension sizes, then the elements in row-major order.
//! Only unsigned bytes (TT = 0x08) are supported, which is all MNIST uses. Files may be gzipped;
//! gzip is recognised by its magic bytes, never by the file name.
//!
//! The parser treats its input as hostile: every size in the header is checked, with overflow-safe
//! arithmetic, against the bytes actually present before anything is allocated.

use anyhow::{anyhow, bail, Result};
use flate2::read::MultiGzDecoder;
use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::safe_fs::open_data_file;

/// IDX element type code for unsigned bytes.
pub const IDX_UBYTE: u8 = 0x08;

/// Decompressed files larger than this are rejected: the largest MNIST file is 47 MB, and an
/// unbounded inflate of hostile input could exhaust memory.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// A parsed unsigned-byte IDX tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idx {
    /// Dimension sizes from the header, outermost first (e.g. `[60000, 28, 28]`).
    pub dims: Vec<usize>,
    /// The elements, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<u8>,
}

/// True when `bytes` starts with the gzip magic `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Returns `bytes` unchanged, or inflated when they are gzip (by magic bytes). `origin` names the
/// source in errors.
pub fn maybe_gunzip<'a>(bytes: &'a [u8], origin: &str) -> Result<Cow<'a, [u8]>> {
    if !is_gzip(bytes) {
        return Ok(Cow::Borrowed(bytes));
    }
    let corrupt = |e: std::io::Error| anyhow!("{origin}: corrupt gzip data: {e}");
    // MultiGz: `gzip` may legally concatenate members; MNIST files have one, but accept either.
    let mut dec = MultiGzDecoder::new(bytes);
    // The IDX header first: a small file can declare, and inflate to, gigabytes. Its declared
    // size is refused past the limit before the rest is inflated, and bounds the inflating.
    let mut out = Vec::new();
    (&mut dec).take(4).read_to_end(&mut out).map_err(corrupt)?;
    if let [0, 0, _, ndims] = out[..] {
        (&mut dec)
            .take(4 * ndims as u64)
            .read_to_end(&mut out)
            .map_err(corrupt)?;
    }
    let limit = match declared_len(&out) {
        Some(n) if n > MAX_DECOMPRESSED_BYTES => bail!(
            "{origin}: the IDX header declares {n} bytes ({}), more than the limit of \
             {MAX_DECOMPRESSED_BYTES}; refusing before inflating it",
            shape_of(&out)
        ),
        // one byte more, so that trailing bytes are still seen (and reported) by the parser
        Some(n) => n + 1,
        None => MAX_DECOMPRESSED_BYTES + 1,
    };
    dec.take(limit.saturating_sub(out.len() as u64))
        .read_to_end(&mut out)
        .map_err(corrupt)?;
    if out.len() as u64 > MAX_DECOMPRESSED_BYTES {
        bail!("{origin}: gzip data inflates to more than {MAX_DECOMPRESSED_BYTES} bytes; refusing");
    }
    Ok(Cow::Owned(out))
}

/// The whole length (header and data) that a complete IDX header at the start of `head`
/// declares, saturating; `None` when `head` holds no complete header.
pub fn declared_len(head: &[u8]) -> Option<u64> {
    let [0, 0, _, ndims] = *head.get(..4)? else {
        return None;
    };
    let header_len = 4 + 4 * ndims as usize;
    let dims = head.get(4..header_len)?;
    let data = dims
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("chunk of 4")) as u64)
        .fold(1u64, u64::saturating_mul);
    Some(data.saturating_add(header_len as u64))
}

/// `60000×28×28`, from a complete header at the start of `head`.
fn shape_of(head: &[u8]) -> String {
    head[4..4 + 4 * head[3] as usize]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("chunk of 4")).to_string())
        .collect::<Vec<_>>()
        .join("×")
}

/// The dims an IDX file at `path` (raw or gzipped) declares, read from its header alone.
pub fn read_dims(path: &Path) -> Result<Vec<usize>> {
    let (file, _) = open_data_file(path)?;
    let mut raw = Vec::new();
    let mut reader = std::io::BufReader::new(file);
    (&mut reader).take(2).read_to_end(&mut raw)?;
    let mut head = raw.clone();
    let mut rest: Box<dyn Read> = if is_gzip(&raw) {
        head.clear();
        Box::new(MultiGzDecoder::new(std::io::Cursor::new(raw).chain(reader)))
    } else {
        Box::new(reader)
    };
    (&mut rest)
        .take(4 - head.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| anyhow!("{}: corrupt data: {e}", path.display()))?;
    if let [0, 0, _, ndims] = head[..] {
        rest.take(4 * ndims as u64)
            .read_to_end(&mut head)
            .map_err(|e| anyhow!("{}: corrupt data: {e}", path.display()))?;
    }
    declared_len(&head).ok_or_else(|| anyhow!("{}: not a complete IDX header", path.display()))?;
    Ok(head[4..]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("chunk of 4")) as usize)
        .collect())
}

/// Reads the whole file at `path`, inflating it when it is gzip.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    // A FIFO, device or directory is refused when opened; a regular file is read only up to the
    // size an inflated one may reach (a gzipped file is never larger than its contents by much).
    let (file, len) = open_data_file(path)?;
    if len > MAX_DECOMPRESSED_BYTES {
        bail!(
            "{}: {len} bytes, more than the limit of {MAX_DECOMPRESSED_BYTES} for an IDX file",
            path.display()
        );
    }
    let mut raw = Vec::with_capacity(len as usize);
    file.take(MAX_DECOMPRESSED_BYTES + 1)
        .read_to_end(&mut raw)
        .map_err(|e| anyhow!("cannot read {}: {e}", path.display()))?;
    if raw.len() as u64 > MAX_DECOMPRESSED_BYTES {
        bail!("{}: grew past the limit while it was read", path.display());
    }
    Ok(match maybe_gunzip(&raw, &path.display().to_string())? {
        Cow::Borrowed(_) => raw,
        Cow::Owned(v) => v,
    })
}

/// Reads an unsigned-byte IDX file, raw or gzipped.
pub fn read_idx(path: &Path) -> Result<Idx> {
    let bytes = read_maybe_gz(path)?;
    parse_idx(&bytes, &path.display().to_string())
}

/// Like [`read_idx`], but first requires the header to declare unsigned bytes with exactly
/// `ndims` dimensions, so a labels file passed as images is reported as a bad magic number.
pub fn read_idx_expect(path: &Path, ndims: usize) -> Result<Idx> {
    let bytes = read_maybe_gz(path)?;
    parse_idx_expect(&bytes, &path.display().to_string(), ndims)
}

/// Describes a magic number for error messages, e.g. `0x00000803 (ubyte, 3 dims)`.
fn describe_magic(m: [u8; 4]) -> String {
    let hex = format!("0x{:08x}", u32::from_be_bytes(m));
    if m[0] != 0 || m[1] != 0 {
        return if is_gzip(&m) {
            format!("{hex} (gzip data, not IDX)")
        } else {
            format!("{hex} (not an IDX header)")
        };
    }
    let ty = match m[2] {
        0x08 => "ubyte",
        0x09 => "sbyte",
        0x0b => "i16",
        0x0c => "i32",
        0x0d => "f32",
        0x0e => "f64",
        _ => "unknown type",
    };
    format!("{hex} ({ty}, {} dims)", m[3])
}

/// Like [`parse_idx`], but requires magic `00 00 08 ndims` exactly.
pub fn parse_idx_expect(bytes: &[u8], origin: &str, ndims: usize) -> Result<Idx> {
    let expected = [0, 0, IDX_UBYTE, ndims as u8];
    let found: [u8; 4] = match bytes.get(..4) {
        Some(m) => m.try_into().expect("slice of length 4"),
        None => bail!(
            "{origin}: truncated header: IDX needs at least 4 bytes, file has {}",
            bytes.len()
        ),
    };
    if ndims > 255 || found != expected {
        bail!(
            "{origin}: bad magic number: expected {}, found {}",
            describe_magic(expected),
            describe_magic(found)
        );
    }
    parse_idx(bytes, origin)
}

/// Parses an unsigned-byte IDX file held in memory. `origin` is the file name used in errors.
/// The data must fill the declared shape exactly: missing or trailing bytes are errors.
pub fn parse_idx(bytes: &[u8], origin: &str) -> Result<Idx> {
    if bytes.len() < 4 {
        bail!(
            "{origin}: truncated header: IDX needs at least 4 bytes, file has {}",
            bytes.len()
        );
    }
    let magic: [u8; 4] = bytes[..4].try_into().expect("slice of length 4");
    if magic[0] != 0 || magic[1] != 0 {
        bail!(
            "{origin}: bad magic number: expected 0x0000TTNN (IDX), found {}",
            describe_magic(magic)
        );
    }
    if magic[2] != IDX_UBYTE {
        bail!(
            "{origin}: unsupported IDX data type byte 0x{:02x} (magic {}); only unsigned bytes (0x08) are supported",
            magic[2],
            describe_magic(magic)
        );
    }
    let ndims = magic[3] as usize;
    if ndims == 0 {
        bail!("{origin}: IDX header declares 0 dimensions");
    }
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        bail!(
            "{origin}: truncated header: {ndims} dims need a {header_len}-byte header, file has {} bytes",
            bytes.len()
        );
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes(c.try_into().expect("chunk of 4")) as usize)
        .collect();
    let shape = dims
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("×");
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| anyhow!("{origin}: header dims {shape} overflow the address space"))?;
    let present = bytes.len() - header_len;
    if present < expected {
        bail!(
            "{origin}: truncated data: header says {shape} = {expected} bytes, file has {present} bytes after the {header_len}-byte header"
        );
    }
    if present > expected {
        bail!(
            "{origin}: {} unexpected trailing bytes: header says {shape} = {expected} bytes, file has {present} after the {header_len}-byte header",
            present - expected
        );
    }
    Ok(Idx {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    /// Header for a ubyte IDX with the given dims, followed by `data`.
    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, IDX_UBYTE, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn parses_good_file() {
        let data: Vec<u8> = (0..24).collect();
        let idx = parse_idx(&idx_bytes(&[2, 3, 4], &data), "ok.idx").unwrap();
        assert_eq!(idx.dims, vec![2, 3, 4]);
        assert_eq!(idx.data, data);
        let idx = parse_idx_expect(&idx_bytes(&[5], &[9; 5]), "l.idx", 1).unwrap();
        assert_eq!((idx.dims, idx.data), (vec![5], vec![9; 5]));
    }

    #[test]
    fn bad_magic_names_expected_and_found() {
        let bytes = idx_bytes(&[3], &[1, 2, 3]);
        let err = parse_idx_expect(&bytes, "labels.idx", 3)
            .unwrap_err()
            .to_string();
        assert!(err.contains("labels.idx"), "{err}");
        assert!(
            err.contains("expected 0x00000803 (ubyte, 3 dims), found 0x00000801 (ubyte, 1 dims)"),
            "{err}"
        );
        let err = parse_idx(b"PK\x03\x04rest", "zip.idx")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("zip.idx") && err.contains("bad magic"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_byte() {
        let mut bytes = idx_bytes(&[1], &[0, 0, 0, 0]);
        bytes[2] = 0x0d; // f32
        let err = parse_idx(&bytes, "f.idx").unwrap_err().to_string();
        assert!(
            err.contains("f.idx") && err.contains("data type byte 0x0d"),
            "{err}"
        );
    }

    #[test]
    fn truncated_data_and_header() {
        let bytes = idx_bytes(&[60000, 28, 28], &[0; 100]);
        let err = parse_idx(&bytes, "imgs").unwrap_err().to_string();
        assert!(
            err.contains("imgs")
                && err.contains("header says 60000×28×28 = 47040000 bytes, file has 100"),
            "{err}"
        );
        let err = parse_idx(&bytes[..9], "imgs").unwrap_err().to_string();
        assert!(err.contains("truncated header"), "{err}");
        let err = parse_idx(&[0, 0], "tiny").unwrap_err().to_string();
        assert!(err.contains("tiny") && err.contains("truncated"), "{err}");
        assert!(parse_idx(&[], "empty").is_err());
    }

    #[test]
    fn trailing_bytes_rejected() {
        let err = parse_idx(&idx_bytes(&[2], &[1, 2, 3]), "t")
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 unexpected trailing bytes"), "{err}");
    }

    #[test]
    fn huge_dims_do_not_allocate_or_panic() {
        // Product overflows usize: must be an error, not a panic or a giant allocation.
        let bytes = idx_bytes(&[u32::MAX; 3], &[1, 2, 3]);
        let err = parse_idx(&bytes, "huge").unwrap_err().to_string();
        assert!(err.contains("overflow"), "{err}");
        // Fits in usize but far exceeds what is present.
        let bytes = idx_bytes(&[u32::MAX, 2], &[1, 2, 3]);
        let err = parse_idx(&bytes, "huge").unwrap_err().to_string();
        assert!(err.contains("truncated data"), "{err}");
        // 255 dims declared but the header is absent.
        let err = parse_idx(&[0, 0, 8, 255, 1, 1], "h")
            .unwrap_err()
            .to_string();
        assert!(err.contains("1024-byte header"), "{err}");
    }

    #[test]
    fn gz_and_raw_read_equal() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx_bytes(&[4, 2], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let raw = dir.path().join("a-raw");
        // Name deliberately without .gz: detection is by magic bytes.
        let gz = dir.path().join("b-compressed");
        std::fs::write(&raw, &bytes).unwrap();
        std::fs::write(&gz, gzip(&bytes)).unwrap();
        let a = read_idx(&raw).unwrap();
        let b = read_idx(&gz).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.dims, vec![4, 2]);
    }

    #[test]
    fn corrupt_gzip_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let gz = gzip(&idx_bytes(&[1000], &[7; 1000]));
        let path = dir.path().join("cut.gz");
        std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
        let err = read_idx(&path).unwrap_err().to_string();
        assert!(
            err.contains("cut.gz") && err.contains("corrupt gzip"),
            "{err}"
        );
        let missing = dir.path().join("nope");
        let err = read_idx(&missing).unwrap_err().to_string();
        assert!(err.contains("cannot read") && err.contains("nope"), "{err}");
    }
}
