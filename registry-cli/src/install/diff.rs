//! A unified diff of two texts, for `--dry-run`. Common leading and trailing lines are cut first, so a
//! one-entry change in a large `~/.claude.json` stays cheap.

use std::fmt::Write as _;

/// Lines of context around each change.
const CONTEXT: usize = 3;
/// Above this many changed lines on each side, the middle is shown as one replacement.
const MAX_LCS: usize = 2000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Keep,
    Del,
    Add,
}

/// `diff -u`-style output; empty when the texts are equal.
pub fn unified(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mid_a = &a[prefix..a.len() - suffix];
    let mid_b = &b[prefix..b.len() - suffix];
    // (op, index in a, index in b) for every line.
    let mut script: Vec<(Op, usize, usize)> = (0..prefix).map(|i| (Op::Keep, i, i)).collect();
    for (op, i, j) in middle(mid_a, mid_b) {
        script.push((op, prefix + i, prefix + j));
    }
    for k in 0..suffix {
        script.push((Op::Keep, a.len() - suffix + k, b.len() - suffix + k));
    }
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    let changed: Vec<usize> = script
        .iter()
        .enumerate()
        .filter(|(_, s)| s.0 != Op::Keep)
        .map(|(i, _)| i)
        .collect();
    let mut k = 0;
    while k < changed.len() {
        let start = changed[k].saturating_sub(CONTEXT);
        let mut end = changed[k];
        while k < changed.len() && changed[k] <= end + 2 * CONTEXT + 1 {
            end = changed[k];
            k += 1;
        }
        let end = (end + CONTEXT + 1).min(script.len());
        let hunk = &script[start..end];
        let a_start = hunk.iter().find(|s| s.0 != Op::Add).map_or(0, |s| s.1);
        let b_start = hunk.iter().find(|s| s.0 != Op::Del).map_or(0, |s| s.2);
        let a_len = hunk.iter().filter(|s| s.0 != Op::Add).count();
        let b_len = hunk.iter().filter(|s| s.0 != Op::Del).count();
        let _ = writeln!(
            out,
            "@@ -{} +{} @@",
            range(a_start, a_len),
            range(b_start, b_len)
        );
        for (op, i, j) in hunk {
            match op {
                Op::Keep => {
                    out.push(' ');
                    out.push_str(a[*i]);
                }
                Op::Del => {
                    out.push('-');
                    out.push_str(a[*i]);
                }
                Op::Add => {
                    out.push('+');
                    out.push_str(b[*j]);
                }
            }
            out.push('\n');
        }
    }
    out
}

fn range(start: usize, len: usize) -> String {
    if len == 0 {
        format!("{start},0")
    } else if len == 1 {
        format!("{}", start + 1)
    } else {
        format!("{},{len}", start + 1)
    }
}

/// LCS edit script of the changed middle.
#[allow(clippy::many_single_char_names)] // the textbook names of the LCS recurrence
fn middle(a: &[&str], b: &[&str]) -> Vec<(Op, usize, usize)> {
    if a.len() > MAX_LCS || b.len() > MAX_LCS {
        let mut script: Vec<_> = (0..a.len()).map(|i| (Op::Del, i, 0)).collect();
        script.extend((0..b.len()).map(|j| (Op::Add, a.len(), j)));
        return script;
    }
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![0u32; (n + 1) * (m + 1)];
    let at = |i: usize, j: usize| i * (m + 1) + j;
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[at(i, j)] = if a[i] == b[j] {
                lcs[at(i + 1, j + 1)] + 1
            } else {
                lcs[at(i + 1, j)].max(lcs[at(i, j + 1)])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut script = Vec::new();
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            script.push((Op::Keep, i, j));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[at(i + 1, j)] >= lcs[at(i, j + 1)]) {
            script.push((Op::Del, i, j));
            i += 1;
        } else {
            script.push((Op::Add, i, j));
            j += 1;
        }
    }
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_change() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\n";
        assert_eq!(
            unified(old, new, "a/x", "b/x"),
            "--- a/x\n+++ b/x\n@@ -2,7 +2,8 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n+i\n"
        );
        assert_eq!(
            unified("", "x\n", "a", "b"),
            "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n"
        );
        assert_eq!(unified("x", "x", "a", "b"), "");
    }
}
