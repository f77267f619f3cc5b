//! What a file must be before any parser sees it: a regular file of at most
//! [`MAX_FILE_BYTES`](super::limits::MAX_FILE_BYTES), UTF-8 text, and, for YAML, free of the
//! control characters YAML forbids and nested at most [`MAX_DEPTH`](super::limits::MAX_DEPTH)
//! levels deep.
//!
//! These checks are linear in the file's size and run first, so the parsers (whose time grows
//! with the square of the nesting depth) never see a pathological input, and every refusal
//! names the file and, where there is one, the line and column.

use std::fmt;
use std::io::Read;
use std::path::Path;

use super::limits::MAX_FILE_BYTES;

/// Why a file could not be read.
#[derive(Debug)]
pub enum FileError {
    /// The operating system's error, as it put it.
    Io(std::io::Error),
    /// A directory, FIFO, device or socket (what it is).
    NotRegular(&'static str),
    /// Larger than the limit (its size, when known before reading).
    TooLarge(Option<u64>),
    /// Not UTF-8 text.
    NotUtf8(NotUtf8),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io(e) => write!(f, "{e}"),
            FileError::NotRegular(kind) => write!(f, "not a regular file ({kind})"),
            FileError::TooLarge(Some(n)) => write!(
                f,
                "{n} bytes, more than the {} MiB a file may have",
                MAX_FILE_BYTES >> 20
            ),
            FileError::TooLarge(None) => {
                write!(
                    f,
                    "more than the {} MiB a file may have",
                    MAX_FILE_BYTES >> 20
                )
            }
            FileError::NotUtf8(e) => write!(f, "{e}"),
        }
    }
}

/// The first byte that is not UTF-8, where it is, and the text with it replaced (for showing).
#[derive(Debug, Clone, PartialEq)]
pub struct NotUtf8 {
    /// Byte offset of the bad byte (the same offset in `lossy`, where it shows as U+FFFD).
    pub at: usize,
    pub byte: u8,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub lossy: String,
}

impl fmt::Display for NotUtf8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not UTF-8: byte 0x{:02X} at line {}, column {}",
            self.byte, self.line, self.column
        )?;
        if self.at == 0 && (self.byte == 0xFF || self.byte == 0xFE) {
            write!(f, " (a UTF-16 byte order mark: save the file as UTF-8)")?;
        }
        Ok(())
    }
}

/// Reads `path` as UTF-8 text, refusing anything but a regular file of at most
/// [`MAX_FILE_BYTES`]. The size is checked before reading and again while reading (a file that
/// grows, or one whose size the metadata does not tell, stops at the limit).
pub fn read_text(path: &Path) -> Result<String, FileError> {
    utf8(read_bounded(path)?).map_err(FileError::NotUtf8)
}

/// The bytes of the regular file `path`, at most [`MAX_FILE_BYTES`] of them.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, FileError> {
    // Judged before opening: opening a FIFO for reading waits for a writer.
    let meta = std::fs::metadata(path).map_err(FileError::Io)?;
    regular(&meta)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(FileError::TooLarge(Some(meta.len())));
    }
    let file = std::fs::File::open(path).map_err(FileError::Io)?;
    // The file opened may not be the one judged (it was replaced in between).
    regular(&file.metadata().map_err(FileError::Io)?)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(FileError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(FileError::TooLarge(None));
    }
    Ok(bytes)
}

fn regular(meta: &std::fs::Metadata) -> Result<(), FileError> {
    let t = meta.file_type();
    if t.is_file() {
        return Ok(());
    }
    if t.is_dir() {
        return Err(FileError::NotRegular("a directory"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Err(FileError::NotRegular("a FIFO"));
        }
        if t.is_char_device() {
            return Err(FileError::NotRegular("a character device"));
        }
        if t.is_block_device() {
            return Err(FileError::NotRegular("a block device"));
        }
        if t.is_socket() {
            return Err(FileError::NotRegular("a socket"));
        }
    }
    Err(FileError::NotRegular("not a file"))
}

/// `bytes` as a `String`, or where the first invalid byte is.
pub fn utf8(bytes: Vec<u8>) -> Result<String, NotUtf8> {
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.into_bytes();
        let before = String::from_utf8_lossy(&bytes[..at]);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        NotUtf8 {
            at,
            byte: bytes[at],
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            lossy: String::from_utf8_lossy(&bytes).into_owned(),
        }
    })
}

/// The first character YAML does not allow in a stream, with its byte offset: C0 controls
/// other than tab, line feed and carriage return; DEL; C1 controls other than NEL; U+FFFE and
/// U+FFFF (YAML 1.2's `c-printable`, as libyaml checks it).
pub fn control_char(src: &str) -> Option<(usize, char)> {
    src.char_indices().find(|&(_, c)| {
        !matches!(c,
            '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

/// The byte offset where the nesting of mappings and sequences first goes deeper than `limit`
/// levels, or `None`. One linear pass that follows YAML's block structure (indentation, `- `,
/// `? `, keys), flow collections, quoted and block scalars and comments; it errs towards
/// counting more levels, never fewer, so a parser never sees a deeper file.
pub fn too_deep(src: &str, limit: usize) -> Option<usize> {
    let mut s = Depth {
        b: src.as_bytes(),
        limit,
        blocks: Vec::new(),
        flow: 0,
        node_start: true,
        json_key: false,
        mode: Mode::Block,
    };
    s.run().err()
}

/// What the previous line left open.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Block,
    Flow,
    /// A quoted scalar (its quote) spanning lines, inside a flow collection or not.
    Quote(u8, bool),
    /// A block scalar's content: lines indented at least `indent` (fixed by the first
    /// non-blank line, which must be indented more than `parent`).
    BlockScalar {
        parent: usize,
        indent: Option<usize>,
    },
    /// A plain scalar that may continue on lines indented more than `parent`.
    Plain {
        parent: usize,
    },
}

struct Depth<'a> {
    b: &'a [u8],
    limit: usize,
    /// Open block collections: column and whether a sequence.
    blocks: Vec<(usize, bool)>,
    flow: usize,
    /// In a flow collection: whether a node may start here (after `[`, `{`, `,`, `:`, `?`).
    node_start: bool,
    /// In a flow collection: the last node was quoted or a collection, so `:` may follow it
    /// directly (`{"a":1}`).
    json_key: bool,
    mode: Mode,
}

type Scan = Result<(), usize>;

fn blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

impl Depth<'_> {
    fn check(&self, at: usize) -> Scan {
        if self.blocks.len() + self.flow > self.limit {
            Err(at)
        } else {
            Ok(())
        }
    }

    /// Whether the byte after `i` ends a token (space, tab, line end).
    fn ends(&self, i: usize, end: usize) -> bool {
        i + 1 >= end || blank(self.b[i + 1])
    }

    fn run(&mut self) -> Scan {
        let mut start = 0;
        while start < self.b.len() {
            let end = self.b[start..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(self.b.len(), |i| start + i);
            self.line(start, end)?;
            start = end + 1;
        }
        Ok(())
    }

    fn indent(&self, start: usize, end: usize) -> usize {
        self.b[start..end]
            .iter()
            .take_while(|&&c| c == b' ')
            .count()
    }

    fn line(&mut self, start: usize, end: usize) -> Scan {
        let ind = self.indent(start, end);
        let is_blank = self.b[start + ind..end].iter().all(|&c| blank(c));
        match self.mode {
            Mode::Quote(q, in_flow) => {
                let Some(after) = self.quote(start, end, q) else {
                    return Ok(());
                };
                self.mode = if in_flow { Mode::Flow } else { Mode::Block };
                return if in_flow {
                    self.json_key = true;
                    self.flow_scan(after, start, end)
                } else {
                    self.after_node(after, start, end)
                };
            }
            Mode::Flow => return self.flow_scan(start, start, end),
            Mode::BlockScalar { parent, indent } => {
                if is_blank {
                    return Ok(());
                }
                match indent {
                    Some(m) if ind >= m => return Ok(()),
                    None if ind > parent => {
                        self.mode = Mode::BlockScalar {
                            parent,
                            indent: Some(ind),
                        };
                        return Ok(());
                    }
                    _ => self.mode = Mode::Block,
                }
            }
            Mode::Plain { parent } => {
                if is_blank {
                    return Ok(());
                }
                if ind > parent && self.b[start + ind] != b'#' {
                    return Ok(());
                }
                self.mode = Mode::Block;
            }
            Mode::Block => {}
        }
        if is_blank || self.b[start + ind] == b'#' {
            return Ok(());
        }
        let rest = &self.b[start..end];
        if ind == 0
            && (rest.starts_with(b"---") || rest.starts_with(b"..."))
            && self.ends(start + 2, end)
        {
            self.blocks.clear();
            return self.value(start + 3, start, end, false);
        }
        if ind == 0 && rest[0] == b'%' {
            return Ok(());
        }
        self.value(start + ind, start, end, true)
    }

    /// Enters the block collection at `col` (a sequence when `seq`); `first`: the line's first
    /// token, so shallower or equal columns close what is deeper.
    fn block(&mut self, col: usize, seq: bool, first: bool, at: usize) -> Scan {
        if first {
            while self.blocks.last().is_some_and(|&(c, _)| c > col) {
                self.blocks.pop();
            }
            if !seq && self.blocks.last() == Some(&(col, true)) {
                self.blocks.pop();
            }
            if self.blocks.last() == Some(&(col, seq)) {
                return Ok(());
            }
        }
        self.blocks.push((col, seq));
        self.check(at)
    }

    /// Scans a block line from `pos`, where a node may start.
    fn value(&mut self, mut pos: usize, start: usize, end: usize, mut first: bool) -> Scan {
        loop {
            while pos < end && blank(self.b[pos]) {
                pos += 1;
            }
            if pos >= end || self.b[pos] == b'#' {
                return Ok(());
            }
            let col = pos - start;
            match self.b[pos] {
                b'-' | b'?' if self.ends(pos, end) => {
                    self.block(col, self.b[pos] == b'-', first, pos)?;
                    pos += 1;
                }
                b':' if self.ends(pos, end) => pos += 1,
                b'&' | b'!' => {
                    while pos < end && !blank(self.b[pos]) {
                        pos += 1;
                    }
                    continue;
                }
                b'[' | b'{' => {
                    self.node_start = true;
                    self.json_key = false;
                    return self.flow_scan(pos, start, end);
                }
                q @ (b'"' | b'\'') => {
                    let Some(after) = self.quote(pos + 1, end, q) else {
                        self.mode = Mode::Quote(q, false);
                        return Ok(());
                    };
                    return self.key_or_end(after, col, first, start, end);
                }
                b'|' | b'>' => {
                    let parent = self.blocks.last().map_or(0, |&(c, _)| c);
                    let digit = self.b[pos + 1..end]
                        .iter()
                        .take_while(|c| !blank(**c))
                        .find(|c| c.is_ascii_digit())
                        .map(|c| usize::from(c - b'0'));
                    self.mode = Mode::BlockScalar {
                        parent,
                        indent: digit.map(|d| parent + d.max(1)),
                    };
                    return Ok(());
                }
                _ => {
                    // A plain scalar: a key if `: ` follows on this line.
                    let mut i = pos;
                    while i < end {
                        let c = self.b[i];
                        if c == b':' && self.ends(i, end) {
                            self.block(col, false, first, pos)?;
                            pos = i + 1;
                            break;
                        }
                        if c == b'#' && blank(self.b[i - 1]) {
                            i = end;
                            break;
                        }
                        i += 1;
                    }
                    if i >= end {
                        let parent = self.blocks.last().map_or(0, |&(c, _)| c);
                        self.mode = Mode::Plain { parent };
                        return Ok(());
                    }
                }
            }
            first = false;
        }
    }

    /// After a quoted scalar or flow collection in block context: `: ` makes it a key.
    fn key_or_end(
        &mut self,
        mut pos: usize,
        col: usize,
        first: bool,
        start: usize,
        end: usize,
    ) -> Scan {
        while pos < end && blank(self.b[pos]) {
            pos += 1;
        }
        if pos < end && self.b[pos] == b':' && self.ends(pos, end) {
            self.block(col, false, first, pos)?;
            return self.value(pos + 1, start, end, false);
        }
        Ok(())
    }

    fn after_node(&mut self, pos: usize, start: usize, end: usize) -> Scan {
        let col = pos - start;
        self.key_or_end(pos, col, false, start, end)
    }

    /// Finds the end of a quoted scalar opened before `pos`; `None` when it goes on past `end`.
    fn quote(&self, mut pos: usize, end: usize, q: u8) -> Option<usize> {
        while pos < end {
            let c = self.b[pos];
            if q == b'"' && c == b'\\' {
                pos += 2;
                continue;
            }
            if c == q {
                if q == b'\'' && pos + 1 < end && self.b[pos + 1] == b'\'' {
                    pos += 2;
                    continue;
                }
                return Some(pos + 1);
            }
            pos += 1;
        }
        None
    }

    /// Scans flow content from `pos` to the line's end (the collection may go on).
    fn flow_scan(&mut self, mut pos: usize, start: usize, end: usize) -> Scan {
        self.mode = Mode::Flow;
        while pos < end {
            let c = self.b[pos];
            match c {
                b' ' | b'\t' | b'\r' => {}
                b'#' if pos == start || blank(self.b[pos - 1]) => return Ok(()),
                b'[' | b'{' => {
                    self.flow += 1;
                    self.check(pos)?;
                    self.node_start = true;
                    self.json_key = false;
                }
                b']' | b'}' => {
                    self.flow = self.flow.saturating_sub(1);
                    self.node_start = false;
                    self.json_key = true;
                    if self.flow == 0 {
                        self.mode = Mode::Block;
                        return self.after_node(pos + 1, start, end);
                    }
                }
                b',' => {
                    self.node_start = true;
                    self.json_key = false;
                }
                b'?' if self.ends(pos, end) => self.node_start = true,
                b':' if self.json_key || self.ends(pos, end) => {
                    self.node_start = true;
                    self.json_key = false;
                }
                b'"' | b'\'' if self.node_start => match self.quote(pos + 1, end, c) {
                    Some(after) => {
                        pos = after;
                        self.node_start = false;
                        self.json_key = true;
                        continue;
                    }
                    None => {
                        self.mode = Mode::Quote(c, true);
                        return Ok(());
                    }
                },
                b'&' | b'!' if self.node_start => {
                    while pos < end && !blank(self.b[pos]) && !b"[]{},".contains(&self.b[pos]) {
                        pos += 1;
                    }
                    continue;
                }
                _ => {
                    self.node_start = false;
                    self.json_key = false;
                }
            }
            pos += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_ok(src: &str, limit: usize) -> bool {
        too_deep(src, limit).is_none()
    }

    #[test]
    fn shipped_suites_are_well_within_the_depth_limit() {
        use super::super::limits::MAX_DEPTH;
        for f in ["smoke.yaml", "conformance.yaml", "example-remote.yaml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites").join(f);
            let src = read_text(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
            let depth = (1..=MAX_DEPTH).find(|&d| too_deep(&src, d).is_none());
            assert!(depth.is_some_and(|d| d <= 16), "{f}: {depth:?}");
        }
    }

    #[test]
    fn block_nesting_counts_each_level() {
        let src = "a:\n  b:\n    c: 1\n";
        assert!(depth_ok(src, 3));
        assert_eq!(too_deep(src, 2), Some(src.find("c:").unwrap_or(0)));
        // A sequence under a key at the same column is a level of its own.
        let src = "a:\n- b:\n  - c\n";
        assert!(depth_ok(src, 4));
        assert!(!depth_ok(src, 3));
        // Compact sequences: `- - - x` is three levels.
        assert_eq!(too_deep("- - - x\n", 2), Some(4));
        assert!(depth_ok("- - - x\n", 3));
        // Siblings do not add up.
        assert!(depth_ok("a: 1\nb: 2\nc:\n  d: 1\ne: 2\n", 2));
    }

    #[test]
    fn flow_nesting_counts_brackets_outside_strings_and_comments() {
        assert_eq!(too_deep("a: {b: [1, {c: 2}]}\n", 3), Some(11));
        assert!(depth_ok("a: {b: [1, {c: 2}]}\n", 4));
        assert!(depth_ok("a: \"[[[[[\"\nb: '{{{{'\nc: x [[[[ # [[[[\n", 1));
        // A flow collection spanning lines, with a quoted string spanning lines inside.
        assert!(depth_ok("a: [1,\n  \"x\n  [[[[\",\n  2]\nb: 1\n", 2));
        assert!(!depth_ok("a: [1,\n  [[2]]]\n", 3));
        // `#` inside a quoted string in a flow collection is not a comment.
        assert!(!depth_ok("a: [\"#\", [[[1]]]]\n", 4));
    }

    #[test]
    fn block_scalars_are_skipped() {
        let src = "a: |\n  [[[[[[\n  - - - - -\nb: {c: 1}\n";
        assert!(depth_ok(src, 2));
        assert!(!depth_ok(src, 1));
    }

    #[test]
    fn deep_inputs_are_found_in_linear_time() {
        let n = 200_000;
        let flow = format!("a: {}1{}\n", "{a: ".repeat(n), "}".repeat(n));
        let seq = format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        let dash = format!("{}x\n", "- ".repeat(n));
        for src in [flow, seq, dash] {
            let t = std::time::Instant::now();
            assert!(too_deep(&src, 64).is_some());
            assert!(t.elapsed() < std::time::Duration::from_secs(2));
        }
    }

    #[test]
    fn utf8_errors_say_where() {
        let e = utf8(b"a: 1\nb: \xc3\xa9\xff\n".to_vec()).err();
        assert_eq!(
            e.map(|e| (e.at, e.line, e.column, e.to_string())),
            Some((
                10,
                2,
                5,
                "not UTF-8: byte 0xFF at line 2, column 5".to_string()
            ))
        );
        let bom = utf8(b"\xff\xfea\x00".to_vec()).err().map(|e| e.to_string());
        assert_eq!(
            bom.as_deref(),
            Some(
                "not UTF-8: byte 0xFF at line 1, column 1 (a UTF-16 byte order mark: save the \
                 file as UTF-8)"
            )
        );
    }

    #[test]
    fn control_characters_are_found_with_their_offset() {
        assert_eq!(control_char("a: b\tc\r\n\u{feff}é"), None);
        assert_eq!(control_char("a: 1\nb: x\u{1}y"), Some((9, '\u{1}')));
        assert_eq!(control_char("\u{7f}"), Some((0, '\u{7f}')));
    }

    #[test]
    fn non_regular_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let e = read_text(dir.path()).err().map(|e| e.to_string());
        assert_eq!(e.as_deref(), Some("not a regular file (a directory)"));
        #[cfg(unix)]
        {
            let e = read_text(Path::new("/dev/zero"))
                .err()
                .map(|e| e.to_string());
            assert_eq!(
                e.as_deref(),
                Some("not a regular file (a character device)")
            );
        }
        let big = dir.path().join("big.yaml");
        let f = std::fs::File::create(&big).unwrap_or_else(|e| panic!("{e}"));
        f.set_len(MAX_FILE_BYTES + 1)
            .unwrap_or_else(|e| panic!("{e}"));
        let e = read_text(&big).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("16777217 bytes, more than the 16 MiB a file may have")
        );
    }
}
