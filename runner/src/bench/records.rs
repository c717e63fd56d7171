//! The kernel's `# bench: <kind> key=value ...` lines, merged over runs: a
//! record per kind and key (flavour, op, lazy, pages, case), each number
//! kept once per run so the tables can show median, min and max.

/// Fields that say which measurement a line is, not what it measured.
const KEY_FIELDS: [&str; 5] = ["case", "flavour", "op", "lazy", "pages"];

#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub kind: String,
    pub key: Vec<(String, String)>,
    /// Each measured field with one value per run that printed it.
    pub values: Vec<(String, Vec<f64>)>,
}

/// Median, min and max of one field over the runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// `None` for no samples. An even count takes the lower middle, so the
    /// median is always a value some run produced.
    pub fn of(samples: &[f64]) -> Option<Stats> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let median = *sorted.get((sorted.len().checked_sub(1)?) / 2)?;
        Some(Stats { median, min: sorted[0], max: sorted[sorted.len() - 1] })
    }
}

impl Record {
    pub fn key(&self, name: &str) -> Option<&str> {
        self.key.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn stats(&self, name: &str) -> Option<Stats> {
        self.values.iter().find(|(k, _)| k == name).and_then(|(_, samples)| Stats::of(samples))
    }

    /// The median of `name`, or 0 when the kernel did not print it.
    pub fn median(&self, name: &str) -> f64 {
        self.stats(name).map_or(0.0, |stats| stats.median)
    }
}

/// Adds one `# bench:` line (the text after the prefix) to `records`.
/// A line without `key=value` words is ignored; the kernel prints none.
pub fn merge(records: &mut Vec<Record>, line: &str) {
    let mut words = line.split_ascii_whitespace();
    let Some(kind) = words.next() else { return };
    let mut key = Vec::new();
    let mut values = Vec::new();
    for (name, value) in words.filter_map(|word| word.split_once('=')) {
        if KEY_FIELDS.contains(&name) {
            key.push((name.to_string(), value.to_string()));
        } else if let Ok(number) = value.parse::<f64>() {
            values.push((name.to_string(), number));
        }
    }
    let index = match records.iter().position(|r| r.kind == kind && r.key == key) {
        Some(index) => index,
        None => {
            records.push(Record { kind: kind.to_string(), key, values: Vec::new() });
            records.len() - 1
        }
    };
    let record = &mut records[index];
    for (name, number) in values {
        match record.values.iter_mut().find(|(k, _)| *k == name) {
            Some((_, samples)) => samples.push(number),
            None => record.values.push((name, vec![number])),
        }
    }
}

/// The records of one kind, in the kernel's order.
pub fn of_kind<'a>(records: &'a [Record], kind: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
    records.iter().filter(move |record| record.kind == kind)
}

/// A point is an outlier when its median guest ns per page is more than
/// this many times the median of its peers: the same op, lazy mode and N
/// under every flavour (TCG time hardly depends on the flavour, while
/// within one series small N is slower per page by design). An outlier is
/// TCG noise (host scheduling, a timer interrupt in the sample) or a
/// measuring fault, never a property of the lazy layer.
pub const OUTLIER_FACTOR: f64 = 5.0;

/// How many times its peers' median `record`'s ns per page is, when that
/// is more than [`OUTLIER_FACTOR`].
pub fn outlier(records: &[Record], record: &Record) -> Option<f64> {
    let peers = of_kind(records, "batching")
        .filter(|other| ["op", "lazy", "pages"].iter().all(|key| other.key(key) == record.key(key)));
    let medians: Vec<f64> = peers.filter_map(|r| r.stats("ns_per_page")).map(|s| s.median).collect();
    let typical = Stats::of(&medians)?.median;
    let times = record.stats("ns_per_page")?.median / typical;
    (typical > 0.0 && times > OUTLIER_FACTOR).then_some(times)
}
