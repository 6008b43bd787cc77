//! Writing an index file in one pass, in Prometheus' order (`tsdb-block.md` §3.7).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use norn_model::labels::Labels;

use crate::encoding::{put_be32, put_uvarint, put_uvarint_str, put_varint, uvarint_len};
use crate::error::{Error, Result};

use super::{ChunkEntry, FORMAT_V2, INDEX_MAGIC, POSTINGS_ALIGN, SERIES_ALIGN, Toc};

/// Writes an index file: symbols first, then series in label order, then [`finish`] writes
/// postings, the postings offset table and the TOC.
///
/// Postings are gathered in memory while series are added (4 bytes per label of each series).
///
/// [`finish`]: IndexWriter::finish
#[derive(Debug)]
pub struct IndexWriter {
    path: PathBuf,
    out: BufWriter<File>,
    pos: u64,
    toc: Toc,
    /// Symbol → position in the symbol table.
    symbols: HashMap<Box<str>, u32>,
    /// The symbols in table order, to write the postings offset table's strings.
    symbol_list: Vec<Box<str>>,
    /// (name symbol, value symbol) → series IDs; symbol order is string order.
    postings: BTreeMap<(u32, u32), Vec<u32>>,
    all_series: Vec<u32>,
    last_labels: Option<Labels>,
    last_chunk_ref: u64,
    buf: Vec<u8>,
}

impl IndexWriter {
    /// Creates the file at `path` and writes the header and the symbol table. `symbols` must
    /// be strictly ascending and contain every label name and value of the series to come.
    pub fn create<'a>(path: &Path, symbols: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let symbol_list: Vec<Box<str>> = symbols.into_iter().map(Box::from).collect();
        if let Some(pair) = symbol_list.windows(2).find(|pair| pair[0] >= pair[1]) {
            return Err(invalid(
                path,
                format!(
                    "symbols not strictly ascending: {:?} then {:?}",
                    pair[0], pair[1]
                ),
            ));
        }
        let count = u32::try_from(symbol_list.len())
            .map_err(|_| invalid(path, "more than 2^32 symbols"))?;
        let file = File::create(path).map_err(|e| Error::io("create", path, e))?;
        let mut writer = Self {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            pos: 0,
            toc: Toc::default(),
            symbols: HashMap::with_capacity(symbol_list.len()),
            symbol_list: Vec::new(),
            postings: BTreeMap::new(),
            all_series: Vec::new(),
            last_labels: None,
            last_chunk_ref: 0,
            buf: Vec::new(),
        };
        let mut header = Vec::with_capacity(5);
        put_be32(&mut header, INDEX_MAGIC);
        header.push(FORMAT_V2);
        writer.write(&header)?;

        // Symbol table: len | count | strings | crc, CRC over count + strings.
        writer.toc.symbols = writer.pos;
        let body_len: u64 = 4 + symbol_list
            .iter()
            .map(|s| (uvarint_len(s.len() as u64) + s.len()) as u64)
            .sum::<u64>();
        let body_len =
            u32::try_from(body_len).map_err(|_| invalid(path, "symbol table exceeds 4 GiB"))?;
        writer.write(&body_len.to_be_bytes())?;
        let mut crc = 0u32;
        let mut chunk = Vec::with_capacity(64 * 1024);
        put_be32(&mut chunk, count);
        for (index, symbol) in symbol_list.iter().enumerate() {
            put_uvarint_str(&mut chunk, symbol);
            writer.symbols.insert(symbol.clone(), index as u32);
            if chunk.len() >= 60 * 1024 {
                crc = crc32c::crc32c_append(crc, &chunk);
                writer.write(&chunk)?;
                chunk.clear();
            }
        }
        crc = crc32c::crc32c_append(crc, &chunk);
        writer.write(&chunk)?;
        writer.write(&crc.to_be_bytes())?;
        writer.symbol_list = symbol_list;
        writer.toc.series = writer.pos;
        Ok(writer)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out
            .write_all(bytes)
            .map_err(|e| Error::io("write", &self.path, e))?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn pad_to(&mut self, align: u64) -> Result<()> {
        let rest = self.pos % align;
        if rest != 0 {
            let zeros = [0u8; 16];
            self.write(&zeros[..(align - rest) as usize])?;
        }
        Ok(())
    }

    fn symbol(&self, symbol: &str) -> Result<u32> {
        self.symbols.get(symbol).copied().ok_or_else(|| {
            invalid(
                &self.path,
                format!("symbol {symbol:?} is not in the symbol table"),
            )
        })
    }

    /// Adds the next series and returns its ID (`offset / 16`). Series must come in strictly
    /// ascending label order; chunks sorted by time, non-overlapping, with references not
    /// decreasing within and across series (chunks are written before their series).
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkEntry]) -> Result<u32> {
        if labels.is_empty() {
            return Err(invalid(&self.path, "series without labels"));
        }
        if let Some(last) = &self.last_labels
            && labels <= last
        {
            return Err(invalid(
                &self.path,
                format!("series {labels} added after {last}: out of order"),
            ));
        }
        let mut last_ref = self.last_chunk_ref;
        for (index, chunk) in chunks.iter().enumerate() {
            if chunk.reference < last_ref {
                return Err(invalid(
                    &self.path,
                    format!(
                        "series {labels}: chunk reference {} below {last_ref}",
                        chunk.reference
                    ),
                ));
            }
            last_ref = chunk.reference;
            if chunk.max_time < chunk.min_time {
                return Err(invalid(
                    &self.path,
                    format!(
                        "series {labels}: chunk max time {} before min time {}",
                        chunk.max_time, chunk.min_time
                    ),
                ));
            }
            if index > 0 && chunk.min_time <= chunks[index - 1].max_time {
                return Err(invalid(
                    &self.path,
                    format!(
                        "series {labels}: chunk min time {} not after previous chunk's max time {}",
                        chunk.min_time,
                        chunks[index - 1].max_time
                    ),
                ));
            }
        }

        self.pad_to(SERIES_ALIGN)?;
        let id = u32::try_from(self.pos / SERIES_ALIGN)
            .map_err(|_| invalid(&self.path, "index exceeds 64 GiB"))?;

        let mut body = std::mem::take(&mut self.buf);
        body.clear();
        put_uvarint(&mut body, labels.len() as u64);
        for label in labels.iter() {
            let name = self.symbol(label.name)?;
            let value = self.symbol(label.value)?;
            put_uvarint(&mut body, u64::from(name));
            put_uvarint(&mut body, u64::from(value));
            self.postings.entry((name, value)).or_default().push(id);
        }
        put_uvarint(&mut body, chunks.len() as u64);
        if let Some(first) = chunks.first() {
            put_varint(&mut body, first.min_time);
            put_uvarint(
                &mut body,
                first.max_time.wrapping_sub(first.min_time) as u64,
            );
            put_uvarint(&mut body, first.reference);
            for pair in chunks.windows(2) {
                let (previous, chunk) = (&pair[0], &pair[1]);
                put_uvarint(
                    &mut body,
                    chunk.min_time.wrapping_sub(previous.max_time) as u64,
                );
                put_uvarint(
                    &mut body,
                    chunk.max_time.wrapping_sub(chunk.min_time) as u64,
                );
                put_varint(
                    &mut body,
                    chunk.reference.wrapping_sub(previous.reference) as i64,
                );
            }
        }
        let mut head = Vec::with_capacity(10);
        put_uvarint(&mut head, body.len() as u64);
        let crc = crc32c::crc32c(&body);
        put_be32(&mut body, crc);
        self.write(&head)?;
        self.write(&body)?;
        self.buf = body;

        self.all_series.push(id);
        self.last_labels = Some(labels.clone());
        self.last_chunk_ref = last_ref;
        Ok(id)
    }

    /// Writes one postings list at a 4-byte aligned offset and returns that offset.
    fn write_postings(&mut self, series: &[u32]) -> Result<u64> {
        self.pad_to(POSTINGS_ALIGN)?;
        let offset = self.pos;
        let len = u32::try_from(4 + 4 * series.len() as u64)
            .map_err(|_| invalid(&self.path, "postings list exceeds 4 GiB"))?;
        let mut body = std::mem::take(&mut self.buf);
        body.clear();
        put_be32(&mut body, len);
        put_be32(&mut body, series.len() as u32);
        for id in series {
            put_be32(&mut body, *id);
        }
        let crc = crc32c::crc32c(&body[4..]);
        put_be32(&mut body, crc);
        self.write(&body)?;
        self.buf = body;
        Ok(offset)
    }

    /// Writes the postings lists, the postings offset table and the TOC, then flushes and
    /// fsyncs the file. Returns the file's size.
    pub fn finish(mut self) -> Result<u64> {
        self.toc.label_indices = self.pos;
        self.toc.postings = self.pos;
        let all_series = std::mem::take(&mut self.all_series);
        let mut offsets = Vec::with_capacity(self.postings.len() + 1);
        offsets.push(((0u32, 0u32), self.write_postings(&all_series)?));
        let postings = std::mem::take(&mut self.postings);
        for (key, series) in &postings {
            offsets.push((*key, self.write_postings(series)?));
        }

        self.toc.label_indices_table = self.pos;
        self.toc.postings_table = self.pos;
        let mut body = Vec::new();
        put_be32(&mut body, offsets.len() as u32);
        for (index, ((name, value), offset)) in offsets.iter().enumerate() {
            put_uvarint(&mut body, 2);
            if index == 0 {
                put_uvarint_str(&mut body, "");
                put_uvarint_str(&mut body, "");
            } else {
                put_uvarint_str(&mut body, &self.symbol_list[*name as usize]);
                put_uvarint_str(&mut body, &self.symbol_list[*value as usize]);
            }
            put_uvarint(&mut body, *offset);
        }
        let len = u32::try_from(body.len())
            .map_err(|_| invalid(&self.path, "postings offset table exceeds 4 GiB"))?;
        self.write(&len.to_be_bytes())?;
        let crc = crc32c::crc32c(&body);
        self.write(&body)?;
        self.write(&crc.to_be_bytes())?;
        let toc = self.toc.encode();
        self.write(&toc)?;

        let file = self
            .out
            .into_inner()
            .map_err(|e| Error::io("flush", &self.path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("fsync", &self.path, e))?;
        Ok(self.pos)
    }
}

fn invalid(path: &Path, reason: impl Into<String>) -> Error {
    Error::InvalidBlock {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}
