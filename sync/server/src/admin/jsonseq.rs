//! Streaming reader of JSON import files: a top-level array (`[{…}, {…}]`) or a sequence of
//! values (JSON Lines, or a single object). Yields each element's raw bytes with the line it
//! starts on, so rows are parsed one at a time and errors name their line.

use std::io::BufRead;

/// Largest element accepted (a row is small; this catches a file that is not an array).
pub const MAX_ELEMENT_BYTES: usize = 1 << 20;

/// A structural error in the file, at a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeqError {
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Start,
    Array,
    Stream,
    Done,
}

pub struct JsonSeq<R: BufRead> {
    reader: R,
    line: u64,
    mode: Mode,
}

impl<R: BufRead> JsonSeq<R> {
    pub fn new(reader: R) -> Self {
        JsonSeq {
            reader,
            line: 1,
            mode: Mode::Start,
        }
    }

    fn err(&self, message: impl Into<String>) -> SeqError {
        SeqError {
            line: self.line,
            message: message.into(),
        }
    }

    fn peek(&mut self) -> Result<Option<u8>, SeqError> {
        let line = self.line;
        let buf = self.reader.fill_buf().map_err(|e| SeqError {
            line,
            message: format!("cannot read the file: {e}"),
        })?;
        Ok(buf.first().copied())
    }

    fn bump(&mut self) -> Result<Option<u8>, SeqError> {
        let b = self.peek()?;
        if let Some(b) = b {
            self.reader.consume(1);
            if b == b'\n' {
                self.line += 1;
            }
        }
        Ok(b)
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, SeqError> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\t' | b'\r' | b'\n') => {
                    self.bump()?;
                }
                other => return Ok(other),
            }
        }
    }

    /// The next element: `(line it starts on, its bytes)`, or `None` at the end.
    pub fn next_element(&mut self) -> Result<Option<(u64, Vec<u8>)>, SeqError> {
        match self.mode {
            Mode::Done => Ok(None),
            Mode::Start => {
                let bom = match self.reader.fill_buf() {
                    Ok(b) => b.starts_with(b"\xEF\xBB\xBF"),
                    Err(e) => return Err(self.err(format!("cannot read the file: {e}"))),
                };
                if bom {
                    self.reader.consume(3);
                }
                match self.skip_ws()? {
                    None => {
                        self.mode = Mode::Done;
                        Err(self.err("the file is empty (expected a JSON array)"))
                    }
                    Some(b'[') => {
                        self.bump()?;
                        self.mode = Mode::Array;
                        if self.skip_ws()? == Some(b']') {
                            self.bump()?;
                            self.expect_end()?;
                            return Ok(None);
                        }
                        self.value().map(Some)
                    }
                    Some(_) => {
                        self.mode = Mode::Stream;
                        self.value().map(Some)
                    }
                }
            }
            Mode::Array => match self.skip_ws()? {
                Some(b',') => {
                    self.bump()?;
                    match self.skip_ws()? {
                        Some(b']') => {
                            self.mode = Mode::Done;
                            Err(self.err("a comma before ] (remove the trailing comma)"))
                        }
                        None => {
                            self.mode = Mode::Done;
                            Err(self.err("the array is not closed (missing ])"))
                        }
                        Some(_) => self.value().map(Some),
                    }
                }
                Some(b']') => {
                    self.bump()?;
                    self.expect_end()?;
                    Ok(None)
                }
                None => {
                    self.mode = Mode::Done;
                    Err(self.err("the array is not closed (missing ])"))
                }
                Some(b) => {
                    self.mode = Mode::Done;
                    Err(self.err(format!(
                        "expected , or ] between array elements, found {:?}",
                        b as char
                    )))
                }
            },
            Mode::Stream => match self.skip_ws()? {
                None => {
                    self.mode = Mode::Done;
                    Ok(None)
                }
                Some(_) => self.value().map(Some),
            },
        }
    }

    fn expect_end(&mut self) -> Result<(), SeqError> {
        self.mode = Mode::Done;
        match self.skip_ws()? {
            None => Ok(()),
            Some(_) => Err(self.err("unexpected content after the closing ]")),
        }
    }

    /// One value starting at the current (non-blank) byte.
    fn value(&mut self) -> Result<(u64, Vec<u8>), SeqError> {
        let start = self.line;
        let mut out = Vec::with_capacity(256);
        let fail = |this: &mut Self, msg: String| {
            this.mode = Mode::Done;
            Err(SeqError {
                line: this.line,
                message: msg,
            })
        };
        match self.peek()? {
            Some(b'{' | b'[' | b'"') => {
                let (mut depth, mut in_str, mut esc) = (0usize, false, false);
                loop {
                    let Some(b) = self.bump()? else {
                        return fail(
                            self,
                            format!("the file ends inside the value that starts on line {start}"),
                        );
                    };
                    out.push(b);
                    if out.len() > MAX_ELEMENT_BYTES {
                        return fail(
                            self,
                            format!(
                                "the value starting on line {start} is larger than {} bytes",
                                MAX_ELEMENT_BYTES
                            ),
                        );
                    }
                    if in_str {
                        if esc {
                            esc = false;
                        } else if b == b'\\' {
                            esc = true;
                        } else if b == b'"' {
                            in_str = false;
                            if depth == 0 {
                                break;
                            }
                        }
                        continue;
                    }
                    match b {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                // A bare scalar: up to the next separator.
                while let Some(b) = self.peek()? {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    out.push(b);
                    self.bump()?;
                    if out.len() > MAX_ELEMENT_BYTES {
                        return fail(self, "a value is too large".into());
                    }
                }
                if out.is_empty() {
                    let b = self.peek()?.unwrap_or(b' ');
                    return fail(self, format!("unexpected {:?}", b as char));
                }
            }
        }
        Ok((start, out))
    }
}

/// A serde_json error inside an element starting on `start`: the absolute line and the message
/// without serde's relative position.
pub fn element_error(start: u64, e: &serde_json::Error) -> (u64, String) {
    let line = start + (e.line().max(1) as u64) - 1;
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    (line, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(s: &str) -> Result<Vec<(u64, String)>, SeqError> {
        let mut r = JsonSeq::new(s.as_bytes());
        let mut out = Vec::new();
        while let Some((l, b)) = r.next_element()? {
            out.push((l, String::from_utf8(b).unwrap()));
        }
        Ok(out)
    }

    #[test]
    fn arrays_lines_and_errors() {
        let v = all("\u{feff}[\n {\"a\": \"x]}\\\"\"},\n\n {\"b\": [1, {\"c\": 2}]}\n]\n").unwrap();
        assert_eq!(
            v,
            vec![
                (2, "{\"a\": \"x]}\\\"\"}".to_string()),
                (4, "{\"b\": [1, {\"c\": 2}]}".to_string())
            ]
        );
        assert_eq!(all("[]").unwrap(), vec![]);
        assert_eq!(all("{\"a\":1}\n{\"a\":2}\n").unwrap().len(), 2);
        assert_eq!(
            all("[1, 2]").unwrap(),
            vec![(1, "1".into()), (1, "2".into())]
        );
        assert_eq!(all("[{\"a\":1},\n]").unwrap_err().line, 2);
        assert_eq!(all("[{\"a\":1}\n{\"a\":2}]").unwrap_err().line, 2);
        assert_eq!(all("[{\"a\":1},\n{\"a\":").unwrap_err().line, 2);
        assert!(all("[{\"a\":1}] x").is_err());
        assert!(all("  ").is_err());
    }
}
