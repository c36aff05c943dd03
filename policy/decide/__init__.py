"""Stage 3, the decision: per device and build, the mode/map/align, its features and costs, and why.

Contract: ``runtime.decide(device, build) -> Decision`` (frozen, built by keyword); the rules are
data (``catalog``: ``policy/data/features.yaml``, each with its kernel source), the arithmetic is
pure functions of integers (``costs``: the kernel's ``nd_pfn_init`` layout, memmap, vmemmap
dedup), and every memoised verdict and layout lives in one :class:`cache.DecisionCache`.
Imports the foundation and ``policy.kconfig.chain`` only; builds are read through a protocol.
"""
