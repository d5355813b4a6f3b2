"""Benchmarks (not tests).

python -m bench [options]      the page benchmarks (``make bench``; bench/pages.py)
python -m bench crypto         the micro-benchmarks of encryption and the audit chain
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if argv[:1] == ["crypto"]:
        from bench import crypto

        crypto.main()
        return 0
    from bench import pages

    return pages.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
