"""Samples (抽查样本): the seeded draw (draw), the sampling rules (rules) and strata (strata). Pure."""
