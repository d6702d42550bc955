"""Words in the engine's own messages. The engine is pure (no Django, no kernel: the layer contract), so it
keeps this one counting rule beside ``governance.kernel.formatting.plural``, which reads the same."""


def plural(n: int, unit: str) -> str:
    """A count and its unit, singular for one: "1 row", "2 rows", "12,825 rows"."""
    return f"{n:,} {unit}" if n == 1 else f"{n:,} {unit}s"
