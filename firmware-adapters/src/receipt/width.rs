//! Display width of text on a receipt, in columns of the printer's ASCII font (12 × 24 dots).
//!
//! CJK ideographs, kana, Hangul and full-width forms take two columns; combining marks and
//! zero-width characters take none; everything else takes one.

/// Columns a character takes on the receipt: 0, 1 or 2.
pub fn char_width(c: char) -> usize {
    let cp = c as u32;
    if cp == 0 || is_zero_width(cp) {
        return 0;
    }
    if cp < 0x20 || (0x7f..0xa0).contains(&cp) {
        // Control characters are stripped before printing.
        return 0;
    }
    if is_wide(cp) { 2 } else { 1 }
}

/// Columns a string takes on the receipt.
pub fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

fn is_zero_width(cp: u32) -> bool {
    matches!(cp,
        0x0300..=0x036F   // combining diacritical marks
        | 0x0483..=0x0489
        | 0x0591..=0x05BD
        | 0x0610..=0x061A
        | 0x064B..=0x065F
        | 0x0E31 | 0x0E34..=0x0E3A | 0x0E47..=0x0E4E // Thai vowel/tone marks
        | 0x1AB0..=0x1AFF // combining diacritical marks extended
        | 0x1DC0..=0x1DFF // combining diacritical marks supplement
        | 0x200B..=0x200F // zero-width space, joiners, direction marks
        | 0x2028..=0x202E
        | 0x2060..=0x2064
        | 0x20D0..=0x20FF // combining marks for symbols
        | 0x302A..=0x302F // ideographic tone marks
        | 0x3099..=0x309A // combining kana voiced marks
        | 0xFE00..=0xFE0F // variation selectors
        | 0xFE20..=0xFE2F // combining half marks
        | 0xFEFF          // BOM / zero-width no-break space
        | 0xE0100..=0xE01EF)
}

fn is_wide(cp: u32) -> bool {
    matches!(cp,
        0x1100..=0x115F   // Hangul Jamo initial consonants
        | 0x231A..=0x231B
        | 0x2329..=0x232A
        | 0x2E80..=0x303E // CJK radicals, Kangxi radicals, ideographic description, CJK symbols and punctuation
        | 0x3041..=0x3098 // Hiragana
        | 0x309B..=0x33FF // kana marks, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK strokes, enclosed CJK, CJK compatibility
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xA000..=0xA4CF // Yi
        | 0xA960..=0xA97F // Hangul Jamo extended A
        | 0xAC00..=0xD7A3 // Hangul syllables
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFE10..=0xFE19 // vertical forms
        | 0xFE30..=0xFE6F // CJK compatibility forms, small form variants
        | 0xFF00..=0xFF60 // full-width ASCII forms (incl. ￥ is at FFE5, below)
        | 0xFFE0..=0xFFE6 // full-width signs: ￠ ￡ ￢ ￣ ￤ ￥ ￦
        | 0x1B000..=0x1B16F // kana supplement / extended
        | 0x1F300..=0x1F64F // pictographs, emoticons
        | 0x1F900..=0x1F9FF
        | 0x20000..=0x2FFFD // CJK extensions B–F, compatibility supplement
        | 0x30000..=0x3FFFD)
}

/// Punctuation that must not start a line (it moves down with the character before it).
fn no_line_start(c: char) -> bool {
    "，。、；：！？）」』】》〉”’,.;:!?)]}%".contains(c)
}

/// Greedy wrap to `width` columns: CJK text breaks between any two characters, a Latin word
/// moves to the next line whole (unless it alone is wider than the line), and closing
/// punctuation never starts a line. Never returns an empty list.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut line_w = 0;
    // Byte offset in `line` where it may be broken (after a space or around a wide character).
    let mut last_break = 0;
    for c in text.chars() {
        if c == '\n' {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            line_w = 0;
            last_break = 0;
            continue;
        }
        let w = char_width(c);
        if line_w + w > width && !line.is_empty() {
            let prev_is_word = line
                .chars()
                .last()
                .is_some_and(|p| !p.is_whitespace() && char_width(p) == 1);
            let mut carried = String::new();
            if c != ' ' && w == 1 && prev_is_word && last_break > 0 {
                carried = line[last_break..].to_string();
                line.truncate(last_break);
            } else if no_line_start(c)
                && let Some((i, p)) = line.char_indices().last()
                && i > 0
                && !no_line_start(p)
            {
                carried = line[i..].to_string();
                line.truncate(i);
            }
            lines.push(line.trim_end().to_string());
            line = carried.trim_start().to_string();
            line_w = str_width(&line);
            last_break = 0;
            if c == ' ' && line.is_empty() {
                continue;
            }
        }
        if w == 2 && !no_line_start(c) {
            last_break = line.len();
        }
        line.push(c);
        line_w += w;
        if c == ' ' || w == 2 {
            last_break = line.len();
        }
    }
    lines.push(line.trim_end().to_string());
    lines
}

/// Cut to at most `width` columns (no wrapping).
pub fn truncate(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut w = 0;
    for c in text.chars() {
        let cw = char_width(c);
        if w + cw > width {
            break;
        }
        out.push(c);
        w += cw;
    }
    out
}

/// Text padded with spaces on the left to `width` columns (right-aligned).
pub fn pad_left(text: &str, width: usize) -> String {
    let w = str_width(text);
    let mut s = " ".repeat(width.saturating_sub(w));
    s.push_str(text);
    s
}

/// Text padded with spaces on the right to `width` columns (left-aligned).
pub fn pad_right(text: &str, width: usize) -> String {
    let w = str_width(text);
    let mut s = text.to_string();
    s.push_str(&" ".repeat(width.saturating_sub(w)));
    s
}
