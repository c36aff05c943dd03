"""Stage 4, what exists: ``ndctl list`` JSON in (listings, sizes, raw sizes), ndctl plans out.

Contract: ``listing.read_listing`` gives located records of regions and namespaces;
``plan.make_plan`` turns a listing and the decisions into ``ndctl``/``daxctl`` steps that are
printed, never run. Imports the foundation, ``policy.profiles`` and ``policy.decide``.
"""
