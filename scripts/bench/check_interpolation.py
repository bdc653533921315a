#!/usr/bin/env python
"""Does a text VAE's interpolation return the two lines it was given? Prints each path and the count.

    python scripts/bench/check_interpolation.py              # text-vae, four famous pairs
    python scripts/bench/check_interpolation.py --steps 8

The app's Interpolate button runs the same code: both lines are encoded to their posterior means and
each point of the straight path between them is decoded greedily (zero sampling noise).
"""

from __future__ import annotations

import argparse

PAIRS = (("To be, or not to be, that is the question", "I will not stay to hear thee speak of love"),
         ("To be, or not to be", "I will not stay"),
         ("Now is the winter of our discontent", "O Romeo, Romeo, wherefore art thou Romeo?"),
         ("Friends, Romans, countrymen, lend me your ears", "All the world's a stage"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="text-vae", help="a text model with an encoder (default: text-vae)")
    parser.add_argument("--steps", type=int, default=6, help="lines per path, endpoints included (default: 6)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from studio.registry.serving import ModelRegistry
    from studio.text.tab import interpolate_lines

    registry = ModelRegistry(device="cpu")
    returned = 0
    for a, b in PAIRS:
        path = interpolate_lines(registry, args.model, a, b, args.steps).split("\n")
        print("\n".join(path), end="\n\n")
        returned += (path[0] == a) + (path[-1] == b)
    print(f"endpoint lines returned exactly: {returned} of {2 * len(PAIRS)}")


if __name__ == "__main__":
    main()
