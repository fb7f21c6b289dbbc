"""Synthetic lists of enterprises (名录) for tests, benchmarks and the seed spec: valid 统一社会信用代码, real
divisions, seeded industry, size and risk; every name says it is synthetic (模拟)."""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from pathlib import Path

from duban.domain.listed import CREDIT_CHARS, credit_check_digit

HEADER = ["统一社会信用代码", "单位详细名称", "行政区划代码", "行业代码", "规模", "风险等级", "联系人", "联系电话"]
INDUSTRIES = ["C13", "C26", "C30", "C38", "E47", "F51", "F52", "G54", "H61", "I65", "K70", "L72", "M74"]
SIZES = ["大型", "中型", "小型", "微型"]
RISKS = [("高", 5), ("较高", 15), ("一般", 50), ("低", 30)]  # 风险等级 and its share in per cent
WORDS = "华泰鑫源恒盛兴隆晋通达宏博瑞丰安康永祥德信长城新元利民"


def credit_code(rng: random.Random, division: str) -> str:
    """A 统一社会信用代码 with a right check digit: 91 (工商, 企业) + the registering division + 9 characters."""
    body = "91" + division[:6] + "".join(rng.choice(CREDIT_CHARS) for _ in range(9))
    return body + (credit_check_digit(body) or "0")


def enterprises(divisions: list[str], count: int, *, seed: int = 1) -> Iterator[list[str]]:
    """`count` rows (without the header), spread over `divisions` in turn."""
    rng = random.Random(seed)
    risks = [risk for risk, share in RISKS for _ in range(share)]
    for n in range(count):
        division = divisions[n % len(divisions)]
        name = f"模拟{''.join(rng.choice(WORDS) for _ in range(3))}{n:07d}有限公司"
        yield [
            credit_code(rng, division),
            name,
            division,
            rng.choice(INDUSTRIES),
            rng.choice(SIZES),
            rng.choice(risks),
            "联系人",
            f"0354-{rng.randrange(10**6, 10**7)}",
        ]


def write_csv(path: Path, divisions: list[str], count: int, *, seed: int = 1) -> Path:
    """Write a synthetic list as a bureau's UTF-8 CSV export."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(enterprises(divisions, count, seed=seed))
    return path
