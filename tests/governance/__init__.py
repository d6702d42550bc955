"""Tests of the governance app: the kernel, the inventory, the policies and the statistics engine."""
