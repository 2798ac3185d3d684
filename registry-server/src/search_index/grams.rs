//! Byte trigram posting lists: narrow a substring search to the few strings that hold every trigram
//! of the term, which are then checked exactly. Folded text is UTF-8, and a byte substring of valid
//! UTF-8 is a character substring, so byte trigrams lose nothing.

use std::collections::HashMap;

/// Trigram → ids (ascending: ids are added in increasing order).
#[derive(Debug, Default)]
pub(super) struct Grams {
    postings: HashMap<u32, Vec<u32>>,
}

/// The distinct trigrams of `text`, each as `b0 << 16 | b1 << 8 | b2`.
fn trigrams(text: &str) -> Vec<u32> {
    let mut grams: Vec<u32> = text
        .as_bytes()
        .windows(3)
        .map(|w| u32::from(w[0]) << 16 | u32::from(w[1]) << 8 | u32::from(w[2]))
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

impl Grams {
    /// Indexes `text` under `id`, which must be larger than every id added before.
    pub(super) fn add(&mut self, id: u32, text: &str) {
        for gram in trigrams(text) {
            self.postings.entry(gram).or_default().push(id);
        }
    }

    /// Ids whose text may contain `term` (a superset of the exact answer), or `None` when the term is
    /// too short for trigrams or its rarest trigram is in more than `most` texts: then the caller
    /// checks every text, and copying and intersecting long lists would only add to that.
    pub(super) fn candidates(&self, term: &str, most: usize) -> Option<Vec<u32>> {
        let grams = trigrams(term);
        if grams.is_empty() {
            return None;
        }
        let mut lists = Vec::with_capacity(grams.len());
        for gram in grams {
            match self.postings.get(&gram) {
                Some(list) => lists.push(list.as_slice()),
                None => return Some(Vec::new()),
            }
        }
        lists.sort_unstable_by_key(|list| list.len());
        if lists[0].len() > most {
            return None;
        }
        // Intersecting the shortest lists is cheap and removes most false candidates; the exact check
        // after it removes the rest.
        let mut found = lists[0].to_vec();
        for list in lists.iter().skip(1).take(3) {
            found = intersect(&found, list);
            if found.is_empty() {
                break;
            }
        }
        Some(found)
    }

    /// Approximate heap bytes, for the memory figure in logs.
    pub(super) fn heap_bytes(&self) -> usize {
        self.postings.len() * 48
            + self
                .postings
                .values()
                .map(|l| l.capacity() * 4)
                .sum::<usize>()
    }
}

/// Sorted intersection of two ascending lists.
pub(super) fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Grams;

    #[test]
    fn candidates_are_given_up_when_even_the_rarest_trigram_is_too_common() {
        let mut grams = Grams::default();
        for (id, text) in (0..).zip(["weather", "feather", "heather", "weatherly", "other"]) {
            grams.add(id, text);
        }
        // "eat" is in four texts, "wea" in two: the rarest decides.
        assert_eq!(grams.candidates("weat", 10), Some(vec![0, 3]));
        assert_eq!(grams.candidates("weat", 2), Some(vec![0, 3]));
        assert_eq!(grams.candidates("weat", 1), None);
        // A trigram in no text means no candidates, whatever the limit.
        assert_eq!(grams.candidates("xyz", 0), Some(Vec::new()));
        // Too short for trigrams: every text is a candidate.
        assert_eq!(grams.candidates("we", 10), None);
    }
}
