//! "Did you mean": the closest of the valid names to a misspelled key or value.
//!
//! Names are compared without case and with `-` read as `_`, by edit distance (a swap of two
//! neighbouring letters counts as one edit); a name that is one `_`-separated word of exactly
//! one candidate (`type` → `provider_type`) is suggested too. Pure; used by the type check.

/// The candidate closest to `name`, if one is close enough to be a likely misspelling.
pub(crate) fn closest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let wanted = normalize(name);
    if wanted.is_empty() {
        return None;
    }
    let limit = match wanted.chars().count() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    let best = candidates
        .iter()
        .map(|c| (distance(&wanted, &normalize(c)), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    if best.is_some() {
        return best;
    }
    if wanted.chars().count() < 3 {
        return None;
    }
    let mut by_word = candidates
        .iter()
        .filter(|c| normalize(c).split('_').any(|word| word == wanted));
    match (by_word.next(), by_word.next()) {
        (Some(only), None) => Some(*only),
        _ => None,
    }
}

fn normalize(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

/// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
/// neighbouring characters each cost one.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        d[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        d[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[at(i - 1, j)] + 1)
                .min(d[at(i, j - 1)] + 1)
                .min(d[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[at(i - 2, j - 2)] + 1);
            }
            d[at(i, j)] = best;
        }
    }
    d[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROVIDER_KEYS: &[&str] = &[
        "id",
        "provider_type",
        "api_key",
        "endpoint",
        "endpoints",
        "api_format",
        "models",
        "enabled",
    ];

    #[test]
    fn distances() {
        assert_eq!(distance("port", "port"), 0);
        assert_eq!(distance("prot", "port"), 1, "a swap is one edit");
        assert_eq!(distance("wieght", "weight"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_close_names() {
        assert_eq!(
            closest("provider_typ", PROVIDER_KEYS),
            Some("provider_type")
        );
        assert_eq!(closest("api-key", PROVIDER_KEYS), Some("api_key"));
        assert_eq!(closest("apikey", PROVIDER_KEYS), Some("api_key"));
        assert_eq!(closest("Enabled", PROVIDER_KEYS), Some("enabled"));
        assert_eq!(closest("endpont", PROVIDER_KEYS), Some("endpoint"));
        assert_eq!(closest("type", PROVIDER_KEYS), Some("provider_type"));
        assert_eq!(closest("format", PROVIDER_KEYS), Some("api_format"));
        let types = ["openai", "anthropic", "azure_openai", "deep_infra"];
        assert_eq!(closest("OpenAI", &types), Some("openai"));
        assert_eq!(closest("deepinfra", &types), Some("deep_infra"));
        assert_eq!(closest("azure-openai", &types), Some("azure_openai"));
    }

    #[test]
    fn no_suggestion_for_unrelated_names() {
        assert_eq!(closest("colour", PROVIDER_KEYS), None);
        assert_eq!(closest("x", PROVIDER_KEYS), None);
        assert_eq!(closest("", PROVIDER_KEYS), None);
        assert_eq!(
            closest("api", PROVIDER_KEYS),
            None,
            "two candidates share it"
        );
        assert_eq!(closest("anything", &[]), None);
    }
}
