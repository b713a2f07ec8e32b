"""Parses a Prometheus text exposition (standard input) with prometheus_client's parser and
prints what it found as one JSON object: {"families": {NAME: TYPE}, "samples": [{"name",
"labels", "value"}]}. A text the parser rejects exits with status 1 and the parser's error on
stderr, so a malformed scrape fails the test that runs this.
"""

import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main() -> int:
    text = sys.stdin.read()
    families = {}
    samples = []
    try:
        for family in text_string_to_metric_families(text):
            families[family.name] = family.type
            for sample in family.samples:
                value = sample.value
                samples.append(
                    {
                        "name": sample.name,
                        "labels": dict(sample.labels),
                        # JSON has no infinities or NaN: those become strings.
                        "value": value if math.isfinite(value) else str(value),
                    }
                )
    except Exception as error:  # the parser raises ValueError and others on bad input
        print(f"not a Prometheus text exposition: {error!r}", file=sys.stderr)
        return 1
    json.dump({"families": families, "samples": samples}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
