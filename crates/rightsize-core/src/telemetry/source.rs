//! Recognising an input from its first bytes: gzip or zstd compression, then Parquet, JSON Lines
//! or delimited text. Names can lie (a `.csv` that is gzip, a `.log` that is JSON); bytes do not.

use std::io::{self, BufRead, BufReader, Read};

/// The compression wrapped around an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (one or more members, as `cat a.gz b.gz` makes).
    Gzip,
    /// Zstandard (one or more frames).
    Zstd,
}

/// The layout of the (decompressed) bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Apache Parquet (`PAR1` magic).
    Parquet,
    /// One JSON object per line.
    JsonLines,
    /// CSV, TSV or semicolon-separated text with a header line; the delimiter byte.
    Delimited(u8),
}

impl InputFormat {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Parquet => "parquet",
            InputFormat::JsonLines => "jsonl",
            InputFormat::Delimited(b'\t') => "tsv",
            InputFormat::Delimited(b';') => "ssv",
            InputFormat::Delimited(_) => "csv",
        }
    }
}

/// The compression the first bytes announce.
pub fn sniff_compression(head: &[u8]) -> Compression {
    match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    }
}

/// The format the first (decompressed) bytes announce. Text is JSON Lines when its first
/// non-blank byte opens an object; otherwise the header line's most frequent of tab, comma and
/// semicolon is the delimiter (comma when it has none, as a one-column file would).
pub fn sniff_format(head: &[u8]) -> InputFormat {
    if head.starts_with(b"PAR1") {
        return InputFormat::Parquet;
    }
    let body = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return InputFormat::JsonLines;
    }
    let line_end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    let header = &body[..line_end];
    let count = |d: u8| memchr::memchr_iter(d, header).count();
    let (tabs, commas, semis) = (count(b'\t'), count(b','), count(b';'));
    if tabs > 0 && tabs >= commas {
        InputFormat::Delimited(b'\t')
    } else if semis > commas {
        InputFormat::Delimited(b';')
    } else {
        InputFormat::Delimited(b',')
    }
}

/// Wraps a reader in the decompressor its first bytes call for. Decompression streams: memory
/// stays at the decoder's window, whatever the input's size.
pub fn decompress<'a, R: BufRead + Send + 'a>(
    mut reader: R,
) -> io::Result<(Compression, Box<dyn Read + Send + 'a>)> {
    let head = reader.fill_buf()?;
    let compression = sniff_compression(head);
    let inner: Box<dyn Read + Send + 'a> = match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(reader)?),
    };
    Ok((compression, inner))
}

/// A boxed byte stream with a buffer in front.
pub type BufferedStream<'a> = BufReader<Box<dyn Read + Send + 'a>>;

/// Reads up to `n` bytes from the start of `reader` and hands back a reader that still yields
/// every byte, so a format can be sniffed from a stream that cannot seek (stdin, a decoder).
pub fn peek<'a, R: Read + Send + 'a>(
    mut reader: R,
    n: usize,
) -> io::Result<(Vec<u8>, BufferedStream<'a>)> {
    let mut head = Vec::with_capacity(n);
    (&mut reader).take(n as u64).read_to_end(&mut head)?;
    let chained: Box<dyn Read + Send + 'a> = Box::new(io::Cursor::new(head.clone()).chain(reader));
    Ok((head, BufReader::with_capacity(1 << 16, chained)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn sniffs_compression_and_formats() {
        assert_eq!(sniff_compression(b"\x1f\x8b\x08"), Compression::Gzip);
        assert_eq!(sniff_compression(b"\x28\xb5\x2f\xfd"), Compression::Zstd);
        assert_eq!(sniff_compression(b"ts,latency"), Compression::None);
        assert_eq!(sniff_format(b"PAR1...."), InputFormat::Parquet);
        assert_eq!(sniff_format(b"\n {\"ts\":1}"), InputFormat::JsonLines);
        assert_eq!(
            sniff_format(b"ts\tlatency\n1,5\t3"),
            InputFormat::Delimited(b'\t')
        );
        assert_eq!(
            sniff_format(b"\xef\xbb\xbfts,latency_ms\n"),
            InputFormat::Delimited(b',')
        );
        assert_eq!(
            sniff_format(b"ts;latency_ms;pod\n"),
            InputFormat::Delimited(b';')
        );
    }

    #[test]
    fn decompresses_gzip_members_and_zstd_frames() {
        let mut gz = Vec::new();
        for part in ["a,b\n", "1,2\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part.as_bytes()).expect("write");
            gz.extend(e.finish().expect("finish"));
        }
        let (c, mut r) = decompress(&gz[..]).expect("gzip");
        let mut out = String::new();
        r.read_to_string(&mut out).expect("read");
        assert_eq!((c, out.as_str()), (Compression::Gzip, "a,b\n1,2\n"));

        let zs = zstd::encode_all(&b"x,y\n"[..], 1).expect("zstd");
        let (c, mut r) = decompress(&zs[..]).expect("zstd");
        let mut out = String::new();
        r.read_to_string(&mut out).expect("read");
        assert_eq!((c, out.as_str()), (Compression::Zstd, "x,y\n"));
    }
}
