//! Reading an index file: symbols, series entries and postings over a memory mapping.

use std::path::Path;

use norn_model::labels::Labels;
use roaring::RoaringTreemap;

use crate::chunks::mapped::FileBytes;
use crate::encoding::Decbuf;
use crate::error::{Error, Result};
use crate::postings::IndexLookup;

use super::{
    ChunkEntry, FORMAT_V1, FORMAT_V2, FORMAT_V3, HEADER_LEN, INDEX_MAGIC, SERIES_ALIGN, TOC_LEN,
    Toc,
};

/// The key of the postings list holding every series.
const ALL_POSTINGS_NAME: &str = "";

/// One label name of the postings offset table and the range of its entries.
#[derive(Debug)]
struct NameEntries {
    name: Box<str>,
    start: usize,
    end: usize,
}

/// A read-only index file.
///
/// Opening checks the header, the TOC, the symbol table and the postings offset table (CRCs
/// and structure) and keeps, in memory, the position of every symbol and of every postings
/// offset table entry (4 bytes each); everything else is read from the mapping on demand and
/// checked as it is read. Series IDs are what the postings lists store: the series entry's
/// offset divided by 16 (v2), or the offset itself (v1).
#[derive(Debug)]
pub struct IndexReader {
    bytes: FileBytes,
    version: u8,
    toc: Toc,
    /// Absolute offset of the first symbol string, and end of the symbol strings.
    symbols_base: usize,
    symbols_end: usize,
    /// Offset of each symbol relative to `symbols_base`, in table order.
    symbol_offsets: Vec<u32>,
    /// Absolute offset of the first postings offset table entry, and end of the entries.
    table_base: usize,
    table_end: usize,
    /// Entry offsets relative to `table_base`, sorted by (name, value).
    entries: Vec<u32>,
    /// Label names in ascending order with their entries.
    names: Vec<NameEntries>,
}

fn corrupt(what: &'static str, reason: impl Into<String>) -> Error {
    Error::corrupt(what, reason)
}

/// Reads a `len be32 | body | crc be32` section at `offset`; returns the body's absolute
/// offset and the body after checking its CRC.
fn section<'a>(bytes: &'a [u8], offset: u64, what: &'static str) -> Result<(usize, &'a [u8])> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|&start| start <= bytes.len())
        .ok_or_else(|| corrupt(what, format!("offset {offset} outside the file")))?;
    let mut buf = Decbuf::new(&bytes[start..], what);
    let len = buf.be32()? as usize;
    let body = buf.bytes(len)?;
    let crc = buf.be32()?;
    if crc32c::crc32c(body) != crc {
        return Err(corrupt(
            what,
            format!("checksum mismatch in section at {offset}"),
        ));
    }
    Ok((start + 4, body))
}

impl IndexReader {
    /// Maps and opens the index file at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::new(FileBytes::map(path)?)
    }

    /// Opens an index held in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self> {
        Self::new(FileBytes::Owned(bytes))
    }

    fn new(bytes: FileBytes) -> Result<Self> {
        if bytes.len() < HEADER_LEN + TOC_LEN {
            return Err(corrupt(
                "index",
                format!("file of {} bytes is too short", bytes.len()),
            ));
        }
        let mut header = Decbuf::new(&bytes, "index header");
        let magic = header.be32()?;
        if magic != INDEX_MAGIC {
            return Err(corrupt("index header", format!("bad magic {magic:#010x}")));
        }
        let version = header.byte()?;
        if !matches!(version, FORMAT_V1 | FORMAT_V2 | FORMAT_V3) {
            return Err(corrupt(
                "index header",
                format!("unknown index version {version}"),
            ));
        }
        let toc = Toc::decode(&bytes)?;
        let mut reader = Self {
            bytes,
            version,
            toc,
            symbols_base: 0,
            symbols_end: 0,
            symbol_offsets: Vec::new(),
            table_base: 0,
            table_end: 0,
            entries: Vec::new(),
            names: Vec::new(),
        };
        reader.load_symbols()?;
        reader.load_postings_table()?;
        Ok(reader)
    }

    fn load_symbols(&mut self) -> Result<()> {
        const WHAT: &str = "index symbol table";
        if self.toc.symbols == 0 {
            return Ok(());
        }
        let (start, body) = section(&self.bytes, self.toc.symbols, WHAT)?;
        let mut buf = Decbuf::new(body, WHAT);
        let count = buf.be32()? as usize;
        let strings = buf.remaining();
        let mut offsets = Vec::with_capacity(count.min(strings.len()));
        for _ in 0..count {
            let offset = strings.len() - buf.len();
            offsets.push(
                u32::try_from(offset).map_err(|_| corrupt(WHAT, "symbol table exceeds 4 GiB"))?,
            );
            let len = buf.uvarint_usize()?;
            buf.skip(len)?;
        }
        if !buf.is_empty() {
            return Err(corrupt(
                WHAT,
                format!("{} bytes after the last symbol", buf.len()),
            ));
        }
        self.symbols_base = start + 4;
        self.symbols_end = start + body.len();
        self.symbol_offsets = offsets;
        Ok(())
    }

    fn load_postings_table(&mut self) -> Result<()> {
        const WHAT: &str = "index postings offset table";
        if self.toc.postings_table == 0 {
            return Ok(());
        }
        let (start, body) = section(&self.bytes, self.toc.postings_table, WHAT)?;
        let mut buf = Decbuf::new(body, WHAT);
        let count = buf.be32()? as usize;
        let table = buf.remaining();
        let mut entries = Vec::with_capacity(count.min(table.len() / 4));
        let mut previous: Option<(&str, &str)> = None;
        let mut sorted = true;
        for _ in 0..count {
            let offset = table.len() - buf.len();
            entries.push(u32::try_from(offset).map_err(|_| corrupt(WHAT, "table exceeds 4 GiB"))?);
            let (name, value, _) = decode_entry(&mut buf)?;
            if let Some(last) = previous
                && last >= (name, value)
            {
                sorted = false;
            }
            previous = Some((name, value));
        }
        if !buf.is_empty() {
            return Err(corrupt(
                WHAT,
                format!("{} bytes after the last entry", buf.len()),
            ));
        }
        self.table_base = start + 4;
        self.table_end = start + body.len();
        if !sorted {
            if self.version != FORMAT_V1 {
                return Err(corrupt(WHAT, "entries not sorted by label name and value"));
            }
            // v1 tables may come in any order: sort them once here.
            let mut keyed = Vec::with_capacity(entries.len());
            for entry in &entries {
                let (name, value, _) = self.entry(*entry)?;
                keyed.push(((name, value), *entry));
            }
            keyed.sort_unstable();
            if keyed.windows(2).any(|pair| pair[0].0 == pair[1].0) {
                return Err(corrupt(WHAT, "duplicate label pair"));
            }
            entries = keyed.into_iter().map(|(_, entry)| entry).collect();
        }
        let mut names: Vec<NameEntries> = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let (name, _, _) = self.entry(*entry)?;
            match names.last_mut() {
                Some(last) if &*last.name == name => last.end = index + 1,
                _ => names.push(NameEntries {
                    name: name.into(),
                    start: index,
                    end: index + 1,
                }),
            }
        }
        self.entries = entries;
        self.names = names;
        Ok(())
    }

    /// Decodes the postings offset table entry at `position` (relative to the first entry).
    fn entry(&self, position: u32) -> Result<(&str, &str, u64)> {
        let bytes = self
            .bytes
            .get(self.table_base..self.table_end)
            .and_then(|table| table.get(position as usize..))
            .ok_or_else(|| corrupt("index postings offset table", "entry outside the table"))?;
        decode_entry(&mut Decbuf::new(bytes, "index postings offset table"))
    }

    /// Returns the index format version (1, 2 or 3).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Returns the table of contents.
    pub fn toc(&self) -> &Toc {
        &self.toc
    }

    /// Returns the file's size in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// Returns the number of symbols.
    pub fn symbol_count(&self) -> usize {
        self.symbol_offsets.len()
    }

    /// Returns the symbol with reference `reference` (v2: its position in the table; v1: its
    /// byte offset in the file).
    pub fn symbol(&self, reference: u64) -> Result<&str> {
        const WHAT: &str = "index symbol table";
        let relative = if self.version == FORMAT_V1 {
            let relative = reference
                .checked_sub(self.symbols_base as u64)
                .and_then(|r| u32::try_from(r).ok())
                .filter(|r| self.symbol_offsets.binary_search(r).is_ok());
            relative.ok_or_else(|| corrupt(WHAT, format!("no symbol at offset {reference}")))?
        } else {
            usize::try_from(reference)
                .ok()
                .and_then(|index| self.symbol_offsets.get(index))
                .copied()
                .ok_or_else(|| {
                    corrupt(
                        WHAT,
                        format!("symbol {reference} of {}", self.symbol_offsets.len()),
                    )
                })?
        };
        let bytes = self
            .bytes
            .get(self.symbols_base..self.symbols_end)
            .and_then(|strings| strings.get(relative as usize..))
            .ok_or_else(|| corrupt(WHAT, "symbol outside the table"))?;
        Decbuf::new(bytes, WHAT).uvarint_str()
    }

    /// Returns every symbol in table order.
    pub fn symbols(&self) -> Result<Vec<&str>> {
        if self.version == FORMAT_V1 {
            return self
                .symbol_offsets
                .iter()
                .map(|offset| self.symbol(self.symbols_base as u64 + u64::from(*offset)))
                .collect();
        }
        (0..self.symbol_offsets.len() as u64)
            .map(|reference| self.symbol(reference))
            .collect()
    }

    /// Returns the label names of the index (every name in the postings offset table except
    /// the all-series key), ascending.
    pub fn label_names(&self) -> Vec<String> {
        self.names
            .iter()
            .filter(|entry| &*entry.name != ALL_POSTINGS_NAME)
            .map(|entry| entry.name.to_string())
            .collect()
    }

    fn name_entries(&self, name: &str) -> Option<&[u32]> {
        let index = self
            .names
            .binary_search_by(|entry| (*entry.name).cmp(name))
            .ok()?;
        let entry = &self.names[index];
        self.entries.get(entry.start..entry.end)
    }

    /// Returns the values of label `name`, ascending (empty if the name is absent).
    pub fn label_values(&self, name: &str) -> Result<Vec<String>> {
        let Some(entries) = self.name_entries(name) else {
            return Ok(Vec::new());
        };
        entries
            .iter()
            .map(|entry| Ok(self.entry(*entry)?.1.to_string()))
            .collect()
    }

    /// Returns the offset of the postings list of `name=value`, if the pair exists.
    fn postings_offset(&self, entries: &[u32], value: &str) -> Result<Option<u64>> {
        let (mut low, mut high) = (0, entries.len());
        while low < high {
            let middle = low + (high - low) / 2;
            let (_, candidate, offset) = self.entry(entries[middle])?;
            match candidate.cmp(value) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Ok(Some(offset)),
            }
        }
        Ok(None)
    }

    /// Appends the series IDs of the postings list at `offset` to `out`, checking its CRC and
    /// that they ascend strictly.
    fn read_postings(&self, offset: u64, out: &mut Vec<u64>) -> Result<()> {
        const WHAT: &str = "index postings list";
        let (_, body) = section(&self.bytes, offset, WHAT)?;
        let mut buf = Decbuf::new(body, WHAT);
        let count = buf.be32()? as usize;
        if buf.len() != count.saturating_mul(4) {
            return Err(corrupt(
                WHAT,
                format!("{count} entries announced in {} bytes", buf.len()),
            ));
        }
        let start = out.len();
        out.extend(
            buf.remaining()
                .chunks_exact(4)
                .map(|b| u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))),
        );
        if out[start..].windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err(corrupt(
                WHAT,
                format!("list at {offset} not strictly ascending"),
            ));
        }
        Ok(())
    }

    /// Returns the series having label `name` with any of `values`.
    pub fn postings(&self, name: &str, values: &[&str]) -> Result<RoaringTreemap> {
        let Some(entries) = self.name_entries(name) else {
            return Ok(RoaringTreemap::new());
        };
        let mut ids = Vec::new();
        let mut lists = 0;
        for value in values {
            if let Some(offset) = self.postings_offset(entries, value)? {
                self.read_postings(offset, &mut ids)?;
                lists += 1;
            }
        }
        if lists > 1 {
            // Building the set from one sorted run is much faster than OR-ing many small sets;
            // the stable sort merges the already sorted runs cheaply.
            ids.sort();
            ids.dedup();
        }
        RoaringTreemap::from_sorted_iter(ids)
            .map_err(|_| corrupt("index postings list", "series IDs not ascending"))
    }

    /// Returns every series ID, ascending (the all-postings list).
    pub fn all_postings(&self) -> Result<RoaringTreemap> {
        self.postings(ALL_POSTINGS_NAME, &[ALL_POSTINGS_NAME])
    }

    /// Returns the body of the series entry `id` after checking its CRC.
    fn series_body(&self, id: u64) -> Result<&[u8]> {
        const WHAT: &str = "index series entry";
        let offset = if self.version == FORMAT_V1 {
            Some(id)
        } else {
            id.checked_mul(SERIES_ALIGN)
        };
        let bytes = offset
            .and_then(|offset| usize::try_from(offset).ok())
            .filter(|&offset| offset >= HEADER_LEN)
            .and_then(|offset| self.bytes.get(offset..))
            .ok_or_else(|| corrupt(WHAT, format!("series {id} outside the file")))?;
        let mut buf = Decbuf::new(bytes, WHAT);
        let len = buf.uvarint_usize()?;
        let body = buf.bytes(len)?;
        let crc = buf.be32()?;
        if crc32c::crc32c(body) != crc {
            return Err(corrupt(WHAT, format!("checksum mismatch in series {id}")));
        }
        Ok(body)
    }

    fn decode_labels(&self, buf: &mut Decbuf<'_>) -> Result<Labels> {
        const WHAT: &str = "index series entry";
        let count = buf.uvarint_usize()?;
        let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(count.min(buf.len() / 2));
        for _ in 0..count {
            let name = self.symbol(buf.uvarint()?)?;
            let value = self.symbol(buf.uvarint()?)?;
            if let Some((last, _)) = pairs.last()
                && *last >= name
            {
                return Err(corrupt(
                    WHAT,
                    format!("label names out of order: {last:?}, {name:?}"),
                ));
            }
            pairs.push((name, value));
        }
        Labels::new(pairs).map_err(|e| corrupt(WHAT, e.to_string()))
    }

    /// Returns the labels of series `id`.
    pub fn labels(&self, id: u64) -> Result<Labels> {
        let mut buf = Decbuf::new(self.series_body(id)?, "index series entry");
        self.decode_labels(&mut buf)
    }

    /// Returns the labels and chunks of series `id`. Chunks are checked to be well-formed
    /// (each `min_time <= max_time`, each after the previous one, references not decreasing).
    pub fn series(&self, id: u64) -> Result<(Labels, Vec<ChunkEntry>)> {
        const WHAT: &str = "index series entry";
        let mut buf = Decbuf::new(self.series_body(id)?, WHAT);
        let labels = self.decode_labels(&mut buf)?;
        let count = buf.uvarint_usize()?;
        let mut chunks: Vec<ChunkEntry> = Vec::with_capacity(count.min(buf.len() / 3));
        let bad = |reason: &str| corrupt(WHAT, format!("series {id}: {reason}"));
        for _ in 0..count {
            let chunk = match chunks.last() {
                None => {
                    let min_time = buf.varint()?;
                    let span =
                        i64::try_from(buf.uvarint()?).map_err(|_| bad("chunk span overflows"))?;
                    let max_time = min_time
                        .checked_add(span)
                        .ok_or_else(|| bad("chunk max time overflows"))?;
                    ChunkEntry {
                        min_time,
                        max_time,
                        reference: buf.uvarint()?,
                    }
                }
                Some(previous) => {
                    let gap = buf.uvarint()?;
                    if gap == 0 {
                        return Err(bad("chunk overlaps the previous one"));
                    }
                    let min_time = i64::try_from(gap)
                        .ok()
                        .and_then(|gap| previous.max_time.checked_add(gap))
                        .ok_or_else(|| bad("chunk min time overflows"))?;
                    let span =
                        i64::try_from(buf.uvarint()?).map_err(|_| bad("chunk span overflows"))?;
                    let max_time = min_time
                        .checked_add(span)
                        .ok_or_else(|| bad("chunk max time overflows"))?;
                    let delta = buf.varint()?;
                    if delta < 0 {
                        return Err(bad("chunk references decrease"));
                    }
                    let reference = previous
                        .reference
                        .checked_add(delta as u64)
                        .ok_or_else(|| bad("chunk reference overflows"))?;
                    ChunkEntry {
                        min_time,
                        max_time,
                        reference,
                    }
                }
            };
            chunks.push(chunk);
        }
        if !buf.is_empty() {
            return Err(bad("bytes after the last chunk"));
        }
        Ok((labels, chunks))
    }
}

/// Decodes one postings offset table entry: `keys=2 | name | value | offset`.
fn decode_entry<'a>(buf: &mut Decbuf<'a>) -> Result<(&'a str, &'a str, u64)> {
    let keys = buf.uvarint()?;
    if keys != 2 {
        return Err(corrupt(
            "index postings offset table",
            format!("entry with {keys} keys, expected 2"),
        ));
    }
    let name = buf.uvarint_str()?;
    let value = buf.uvarint_str()?;
    let offset = buf.uvarint()?;
    Ok((name, value, offset))
}

impl IndexLookup for IndexReader {
    fn label_values(&self, name: &str) -> Result<Vec<String>> {
        IndexReader::label_values(self, name)
    }

    fn postings(&self, name: &str, values: &[&str]) -> Result<RoaringTreemap> {
        IndexReader::postings(self, name, values)
    }

    fn all_postings(&self) -> Result<RoaringTreemap> {
        IndexReader::all_postings(self)
    }
}
