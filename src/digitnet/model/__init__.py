"""The network: its layers and costs, the update engines, the LightningModule, and its checkpoint
files."""
