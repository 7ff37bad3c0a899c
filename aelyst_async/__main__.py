"""
`python -m aelyst_async`: the `aelyst` command line.
"""

from ._cli import main

if __name__ == "__main__":
    main()
