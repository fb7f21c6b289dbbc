"""Read models: status, the Prefect artifacts, the digest, the summary table (汇总表), the matrix, the unit page,
duties and samples. They read through duban.store and write nothing but their marks.
"""
