//! A sweep's finished rows as a table the summary and the plots read by column name.

use std::collections::BTreeMap;

use super::store::Manifest;

pub struct Table {
    pub sweep: String,
    pub points: usize,
    pub axes: Vec<String>,
    pub color: Option<String>,
    pub columns: Vec<String>,
    /// (point, cells in `columns` order), by point.
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    pub fn new(m: &Manifest, rows: &BTreeMap<usize, Vec<String>>) -> Table {
        Table {
            sweep: m.sweep.clone(),
            points: m.points,
            axes: m.axes.clone(),
            color: m.color.clone(),
            columns: m.columns.clone(),
            rows: rows.iter().map(|(i, c)| (*i, c.clone())).collect(),
        }
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    pub fn has(&self, name: &str) -> bool {
        self.index(name).is_some()
    }

    /// Row `r`'s cell of column `name`.
    pub fn text(&self, r: usize, name: &str) -> Option<&str> {
        self.index(name).map(|k| self.rows[r].1[k].as_str())
    }

    /// Row `r`'s cell of column `name` as a number (`inf` included; empty or text: None).
    pub fn num(&self, r: usize, name: &str) -> Option<f64> {
        self.text(r, name).and_then(|t| t.parse::<f64>().ok())
    }

    /// `axis = value, ...` of row `r`.
    pub fn describe(&self, r: usize) -> String {
        let parts: Vec<String> = self
            .axes
            .iter()
            .filter_map(|a| self.text(r, a).filter(|v| !v.is_empty()).map(|v| format!("{a} = {v}")))
            .collect();
        format!("point {}: {}", self.rows[r].0, parts.join(", "))
    }

    /// The area measure: post-route LUT4s with `--synth`, else the array's binary lanes.
    pub fn area_column(&self) -> (&'static str, &'static str) {
        if self.has("lut4") {
            ("lut4", "LUT4 (post place and route)")
        } else {
            ("array_lanes", "binary lanes R x C x L")
        }
    }

    /// The rows (indices into `rows`) on the Pareto front of minimising every column of `cols`:
    /// no other row is as good in all of them and better in one.
    pub fn pareto(&self, cols: &[&str]) -> Vec<usize> {
        let vals: Vec<Option<Vec<f64>>> =
            (0..self.rows.len()).map(|r| cols.iter().map(|c| self.num(r, c)).collect()).collect();
        (0..self.rows.len())
            .filter(|&r| {
                let Some(a) = &vals[r] else { return false };
                !vals
                    .iter()
                    .flatten()
                    .any(|b| b.iter().zip(a).all(|(x, y)| x <= y) && b.iter().zip(a).any(|(x, y)| x < y))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[(f64, f64)]) -> Table {
        Table {
            sweep: "t".into(),
            points: rows.len(),
            axes: vec![],
            color: None,
            columns: vec!["a".into(), "b".into()],
            rows: rows.iter().enumerate().map(|(i, (a, b))| (i, vec![a.to_string(), b.to_string()])).collect(),
        }
    }

    #[test]
    fn pareto_front_keeps_only_undominated_rows() {
        // (1,5) and (3,2) and (2,3) trade off; (3,3) is dominated by (2,3) and (3,2); (1,5) ties
        // with nobody; a duplicate of a front point stays on the front.
        let t = table(&[(1.0, 5.0), (3.0, 3.0), (3.0, 2.0), (2.0, 3.0), (2.0, 3.0)]);
        assert_eq!(t.pareto(&["a", "b"]), vec![0, 2, 3, 4]);
    }
}
