"""Batches of prompts, sharded across processes, GPUs and nodes by Lightning Fabric's launcher."""
