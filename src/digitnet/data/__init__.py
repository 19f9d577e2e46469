"""Provides the data layer: IDX files, their sources, and the LightningDataModule."""
